package bootstrap

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Paragraph is one stanza of a Debian control file (deb822): field names,
// lower-cased, to values. Continuation lines are joined with "\n".
type Paragraph map[string]string

// readParagraphs calls fn for each paragraph of a deb822 stream.
func readParagraphs(r io.Reader, fn func(Paragraph) error) error {
	return readParagraphsOnly(r, nil, fn)
}

// readParagraphsOnly is readParagraphs keeping only the fields in keep
// (lower-case names), or all fields if keep is nil.
func readParagraphsOnly(r io.Reader, keep map[string]bool, fn func(Paragraph) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var (
		para    Paragraph
		last    string // field continuation lines extend; "" if dropped
		lineNo  int
		inField bool
	)
	flush := func() error {
		if para == nil {
			return nil
		}
		p := para
		para, last, inField = nil, "", false
		return fn(p)
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !inField {
				return fmt.Errorf("line %d: continuation line without a field", lineNo)
			}
			if last != "" {
				para[last] += "\n" + strings.TrimSpace(line)
			}
			continue
		}
		if line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("line %d: got %q, want \"Field: value\"", lineNo, line)
		}
		if para == nil {
			para = Paragraph{}
		}
		inField = true
		name = strings.ToLower(name)
		if keep != nil && !keep[name] {
			last = ""
			continue
		}
		last = name
		para[name] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	return flush()
}
