package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// indexCell is one table cell of index.html: its text and its links.
type indexCell struct {
	text  string
	links []string // href of each <a>
}

// parseIndex parses index.html into its header cells (with their class)
// and its rows, each a map from the cell's first class to the cell.
func parseIndex(t *testing.T, page string) (headers map[string]string, rows []map[string]indexCell) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	headers = map[string]string{}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	attr := func(n *html.Node, key string) string {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val
			}
		}
		return ""
	}
	var links func(n *html.Node, out *[]string)
	links = func(n *html.Node, out *[]string) {
		if n.Type == html.ElementNode && n.Data == "a" {
			*out = append(*out, attr(n, "href"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			links(c, out)
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			row := map[string]indexCell{}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type != html.ElementNode {
					continue
				}
				switch c.Data {
				case "th":
					headers[text(c)] = attr(c, "class")
				case "td":
					cell := indexCell{text: text(c)}
					links(c, &cell.links)
					row[strings.Fields(attr(c, "class"))[len(strings.Fields(attr(c, "class")))-1]] = cell
				}
			}
			if len(row) > 0 {
				rows = append(rows, row)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return headers, rows
}

// The index shows each package's version, sizes (its own and with its
// closure), publication day, signers and closure as links, with the
// numbers' headers right-aligned as their cells are.
func TestIndexFields(t *testing.T) {
	k := testKey(t, "builder-1")
	entries := testEntries(t) // make (closure: libc), libc, odd
	dir := t.TempDir()
	if _, _, err := Publish(t.Context(), dir, entries[1:], nil); err != nil { // libc, odd unsigned
		t.Fatal(err)
	}
	if _, _, err := Publish(t.Context(), dir, entries[:1], k); err != nil { // make signed
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, e := range entries {
		os.Chtimes(filepath.Join(dir, e.PkgHash+".info"), day, day)
	}
	if err := WriteIndex(dir); err != nil {
		t.Fatal(err)
	}
	headers, rows := parseIndex(t, string(readFile(t, filepath.Join(dir, "index.html"))))
	for _, h := range []string{"size", "total"} {
		if headers[h] != "num" {
			t.Errorf("header %q has class %q, want num (right-aligned)", h, headers[h])
		}
	}
	for _, h := range []string{"name", "version", "published", "signed by", "closure", "pkghash"} {
		if _, ok := headers[h]; !ok {
			t.Errorf("no %q column: %v", h, headers)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	byName := map[string]map[string]indexCell{}
	for _, r := range rows {
		byName[r["name"].text] = r
	}
	libc, mk := byName["libc"], byName["make"]
	if mk == nil || libc == nil || byName[`<b>&"odd"`] == nil {
		t.Fatalf("rows: %v", rows)
	}
	for _, c := range []struct{ got, want string }{
		{mk["version"].text, "4.4.1"},
		{libc["version"].text, "1.2.5"},
		{mk["published"].text, "2026-11-30"},
		{mk["keys"].text, "builder-1"},
		{libc["keys"].text, "unsigned"},
		{mk["closure"].text, "libc"},
		{libc["closure"].text, ""},
		{mk["pkghash"].text, testHash("make")},
	} {
		if c.got != c.want {
			t.Errorf("cell %q, want %q", c.got, c.want)
		}
	}
	if l := mk["closure"].links; len(l) != 1 || l[0] != "#"+testHash("libc") {
		t.Errorf("make's closure links to %q, want libc's row", l)
	}
	// Total is the package and its closure: make's is make's and libc's.
	mkInfo, _ := ParseInfo(readFile(t, filepath.Join(dir, testHash("make")+".info")))
	libcInfo, _ := ParseInfo(readFile(t, filepath.Join(dir, testHash("libc")+".info")))
	if want := humanBytes(mkInfo.Size + libcInfo.Size); mk["total"].text != want || libc["total"].text != humanBytes(libcInfo.Size) {
		t.Errorf("totals: make %q, libc %q; want %q, %q", mk["total"].text, libc["total"].text, want, humanBytes(libcInfo.Size))
	}
	// A closure member missing from the cache is marked, and linked by hash.
	os.Remove(filepath.Join(dir, testHash("libc")+".info"))
	if err := WriteIndex(dir); err != nil {
		t.Fatal(err)
	}
	_, rows = parseIndex(t, string(readFile(t, filepath.Join(dir, "index.html"))))
	for _, r := range rows {
		if r["name"].text == "make" && (!strings.HasSuffix(r["total"].text, " +?") || r["closure"].text != testHash("libc")[:12]) {
			t.Errorf("make with libc gone: total %q, closure %q", r["total"].text, r["closure"].text)
		}
	}
}
