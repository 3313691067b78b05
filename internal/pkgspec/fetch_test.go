package pkgspec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFetch(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []FetchItem
	}{
		{"empty", "# nothing\n\n", nil},
		{
			"equals and quotes",
			"url = \"https://ftp.example/make-4.4.tar.gz\"\noutput = \"make-4.4.tar.gz\"\n",
			[]FetchItem{{"https://ftp.example/make-4.4.tar.gz", "make-4.4.tar.gz", 1}},
		},
		{
			"colon and unquoted",
			"url: http://ftp.example/a.tar.gz\noutput:a.tar.gz\n",
			[]FetchItem{{"http://ftp.example/a.tar.gz", "a.tar.gz", 1}},
		},
		{
			"dashed long and short",
			"--url http://ftp.example/a\n-o a.bin\n--url https://ftp.example/b\n--output b.bin\n",
			[]FetchItem{{"http://ftp.example/a", "a.bin", 1}, {"https://ftp.example/b", "b.bin", 3}},
		},
		{
			"remote-name forms",
			"url = https://ftp.example/x/make%2B%2B-1.0.tar.gz?dl=1\nremote-name\n--url mirror://gnu/make/make-4.4.tar.gz\n-O\nurl file:///srv/src/zlib.tar.xz\n--remote-name\n",
			[]FetchItem{
				{"https://ftp.example/x/make%2B%2B-1.0.tar.gz?dl=1", "make++-1.0.tar.gz", 1},
				{"mirror://gnu/make/make-4.4.tar.gz", "make-4.4.tar.gz", 3},
				{"file:///srv/src/zlib.tar.xz", "zlib.tar.xz", 5},
			},
		},
		{
			// curl pairs the Nth url with the Nth output whatever the order.
			"outputs before urls",
			"output = a\n-O\nurl = http://h.example/1\nurl = http://h.example/dir/2.tgz\n",
			[]FetchItem{{"http://h.example/1", "a", 3}, {"http://h.example/dir/2.tgz", "2.tgz", 4}},
		},
		{
			"urls before outputs",
			"url = http://h.example/1\nurl = http://h.example/2\noutput = one\noutput = two\n",
			[]FetchItem{{"http://h.example/1", "one", 1}, {"http://h.example/2", "two", 2}},
		},
		{
			"escapes and trailing comments",
			"url = \"http://h.example/a\\b\\\"c\" # comment\noutput = \"we\\ird \\\\ name\"\t# ok\n  # indented comment\n",
			[]FetchItem{{"http://h.example/ab\"c", "weird \\ name", 1}},
		},
		{
			"crlf and separators mixed",
			"url =: http://h.example/a\r\noutput  a\r\n",
			[]FetchItem{{"http://h.example/a", "a", 1}},
		},
		{
			"ipv6 host and upper-case scheme",
			"url = HTTP://[::1]:8080/a.tgz\n-O\n",
			[]FetchItem{{"HTTP://[::1]:8080/a.tgz", "a.tgz", 1}},
		},
		{
			"file url with localhost",
			"url = file://localhost/srv/a\noutput = a\n",
			[]FetchItem{{"file://localhost/srv/a", "a", 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFetch("pkg/x/fetch", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFetchErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"url = http://h.example/a\n-O\n\n--insecure\n", `pkg/x/fetch:4: unsupported curl option "--insecure"; only url, output/-o and remote-name/-O are allowed`},
		{"location\n", `pkg/x/fetch:1: unsupported curl option "location"; only url, output/-o and remote-name/-O are allowed`},
		{"-sO\n", `pkg/x/fetch:1: unsupported curl option "-sO"; only url, output/-o and remote-name/-O are allowed`},
		{"-ofile\n", `pkg/x/fetch:1: unsupported curl option "-ofile"; write -o and its value separated by a space`},
		{"--output=a\n", `pkg/x/fetch:1: "--output=a": curl allows '=' or ':' only after option names without dashes; write --output VALUE`},
		{"= a\n", `pkg/x/fetch:1: missing option name before "="`},
		{"url\n", `pkg/x/fetch:1: url needs a value: url "https://..."`},
		{"--url\n", `pkg/x/fetch:1: --url needs a value: --url "https://..."`},
		{"url = http://h.example/a\noutput =\n", `pkg/x/fetch:2: output needs a file name`},
		{"url = http://h.example/a\n-O x\n", `pkg/x/fetch:2: -O takes no value, got "x"`},
		{"url = http://h.example/a b\n", `pkg/x/fetch:1: url: value "http://h.example/a" is followed by "b"; quote values that contain spaces`},
		{"url = \"http://h.example/a\" b\n", `pkg/x/fetch:1: url: unexpected "b" after the quoted value`},
		{"url = \"http://h.example/a\n", `pkg/x/fetch:1: url: unterminated quoted value`},
		{"url = \"http://h.example/a\\\n", `pkg/x/fetch:1: url: unterminated quoted value`},
		{"url = ftp://h.example/a\n", `pkg/x/fetch:1: url "ftp://h.example/a" has scheme "ftp"; only http, https, file and mirror are allowed`},
		{"url = h.example/a\n", `pkg/x/fetch:1: url "h.example/a" has no scheme; write http://, https://, file:// or mirror://`},
		{"url = h.example/a?u=http://b\n", `pkg/x/fetch:1: url "h.example/a?u=http://b" has no scheme; write http://, https://, file:// or mirror://`},
		{"url = file:/a\n", `pkg/x/fetch:1: url "file:/a" has no scheme; write http://, https://, file:// or mirror://`},
		{"url = http:///a\n", `pkg/x/fetch:1: url "http:///a" has no host`},
		{"url = file://h.example/a\n", `pkg/x/fetch:1: url "file://h.example/a" names a host; a file URL is file:///absolute/path`},
		{"url = file:///\n", `pkg/x/fetch:1: url "file:///" has no path`},
		{"url = mirror://debian\n", `pkg/x/fetch:1: url "mirror://debian" must be mirror://NAME/path`},
		{"url = mirror://debian:80/a\n", `pkg/x/fetch:1: url "mirror://debian:80/a" must be mirror://NAME/path`},
		{"url = http://h.example/%zz\n", `pkg/x/fetch:1: url "http://h.example/%zz" is not a valid URL: invalid URL escape "%zz"`},
		{"url = \"http://h.example/a\\tb\"\n", `pkg/x/fetch:1: url "http://h.example/a\tb" contains a space or control character; percent-encode it`},
		{"url = http://h.example/a[1-3].tgz\n", `pkg/x/fetch:1: url "http://h.example/a[1-3].tgz" contains [ ] { or }, which curl expands as a glob; percent-encode them (%5B %5D %7B %7D)`},
		{"url = http://h.example/{a,b}\n", `pkg/x/fetch:1: url "http://h.example/{a,b}" contains [ ] { or }, which curl expands as a glob; percent-encode them (%5B %5D %7B %7D)`},
		{"url = http://h.example/a\n", `pkg/x/fetch:1: url "http://h.example/a" has no output; add output = "NAME" or remote-name`},
		{"url = http://h.example/a\noutput = a\noutput = b\n", `pkg/x/fetch:3: output without a url (curl saves the Nth url to the Nth output)`},
		{"url = http://h.example/a\noutput = ../a\n", `pkg/x/fetch:2: output "../a" contains a slash; it must be a plain file name`},
		{"url = http://h.example/a\n-o -\n", `pkg/x/fetch:2: output "-" means standard output to curl; name a file`},
		{"url = http://h.example/a\noutput = ..\n", `pkg/x/fetch:2: output ".." is not a file name`},
		{"url = http://h.example/a\noutput = \"\"\n", `pkg/x/fetch:2: output "" is empty`},
		{"url = http://h.example/a\noutput = \"a\\nb\"\n", `pkg/x/fetch:2: output "a\nb" contains a control character`},
		{"url = http://h.example/dir/\n-O\n", `pkg/x/fetch:2: remote-name for url "http://h.example/dir/" (line 1): the URL path has no file name; use output = "NAME"`},
		{"url = http://h.example\n-O\n", `pkg/x/fetch:2: remote-name for url "http://h.example" (line 1): the URL path has no file name; use output = "NAME"`},
		{"url = http://h.example/a%2Fb\n-O\n", `pkg/x/fetch:2: remote-name for url "http://h.example/a%2Fb" (line 1): file name "a/b" contains a slash; it must be a plain file name; use output = "NAME"`},
		{"url = http://h.example/%2E%2E\n-O\n", `pkg/x/fetch:2: remote-name for url "http://h.example/%2E%2E" (line 1): file name ".." is not a file name; use output = "NAME"`},
		{"url = http://h.example/-\n-O\n", `pkg/x/fetch:2: remote-name for url "http://h.example/-" (line 1): file name "-" means standard output to curl; use output = "NAME"`},
		{"url = http://h.example/a/x.tgz\nurl = http://h.example/b/x.tgz\n-O\n-O\n", `pkg/x/fetch:4: output "x.tgz" is used twice (lines 3 and 4)`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseFetch("pkg/x/fetch", []byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got error %v\nwant %s", err, tt.want)
			}
		})
	}
}
