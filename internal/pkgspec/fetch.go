package pkgspec

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// FetchItem is one file a fetch file downloads.
type FetchItem struct {
	URL    string // e.g. https://ftp.example/gnu/make/make-4.4.tar.gz or mirror://gnu/make/make-4.4.tar.gz
	Output string // plain file name in the build dir, e.g. make-4.4.tar.gz
	Line   int    // line of the url option
}

// ParseFetch parses a fetch file: the subset of curl's config file format
// (curl -K) that names downloads. Each line holds one option: url, output
// (-o) or remote-name (-O), written with or without leading "--". Without
// dashes, the option and its value may be separated by whitespace, '=' or
// ':'; with dashes only by whitespace, as in curl. A value is unquoted (up
// to whitespace) or double-quoted with the escapes \\ \" \t \n \r \v. Lines
// whose first non-blank character is '#' are comments.
//
// As in curl, the Nth url is saved to the Nth output or remote-name,
// whichever order they appear in. Every url must get a plain, unique output
// file name, and its scheme must be http, https, file or mirror
// (mirror://NAME/path). Anything curl would read differently is an error.
func ParseFetch(name string, data []byte) ([]FetchItem, error) {
	type output struct {
		name   string // "" for remote-name
		remote bool
		line   int
	}
	type urlLine struct {
		url  string
		line int
	}
	var urls []urlLine
	var outs []output
	for i, line := range lines(data) {
		n := i + 1
		opt, val, hasVal, err := splitOption(line)
		if err != nil {
			return nil, errorf(name, n, "%s", err)
		}
		switch opt {
		case "":
			continue
		case "url", "--url":
			if !hasVal {
				return nil, errorf(name, n, "%s needs a value: %s \"https://...\"", opt, opt)
			}
			if msg := checkURL(val); msg != "" {
				return nil, errorf(name, n, "url %q %s", val, msg)
			}
			urls = append(urls, urlLine{val, n})
		case "output", "--output", "-o":
			if !hasVal {
				return nil, errorf(name, n, "%s needs a file name", opt)
			}
			if msg := checkFileName(val); msg != "" {
				return nil, errorf(name, n, "output %q %s", val, msg)
			}
			if val == "-" {
				return nil, errorf(name, n, "output \"-\" means standard output to curl; name a file")
			}
			outs = append(outs, output{name: val, line: n})
		case "remote-name", "--remote-name", "-O":
			if hasVal {
				return nil, errorf(name, n, "%s takes no value, got %q", opt, val)
			}
			outs = append(outs, output{remote: true, line: n})
		default:
			if strings.HasPrefix(opt, "-o") && len(opt) > 2 {
				return nil, errorf(name, n, "unsupported curl option %q; write -o and its value separated by a space", opt)
			}
			if strings.HasPrefix(opt, "--") && strings.ContainsAny(opt, "=:") {
				return nil, errorf(name, n, "%q: curl allows '=' or ':' only after option names without dashes; write %s VALUE", opt, strings.FieldsFunc(opt, func(r rune) bool { return r == '=' || r == ':' })[0])
			}
			return nil, errorf(name, n, "unsupported curl option %q; only url, output/-o and remote-name/-O are allowed", opt)
		}
	}
	if len(outs) > len(urls) {
		o := outs[len(urls)]
		return nil, errorf(name, o.line, "output without a url (curl saves the Nth url to the Nth output)")
	}
	var items []FetchItem
	seen := make(map[string]int)
	for k, u := range urls {
		if k >= len(outs) {
			return nil, errorf(name, u.line, "url %q has no output; add output = \"NAME\" or remote-name", u.url)
		}
		o := outs[k]
		out := o.name
		if o.remote {
			var msg string
			out, msg = remoteName(u.url)
			if msg != "" {
				return nil, errorf(name, o.line, "remote-name for url %q (line %d): %s; use output = \"NAME\"", u.url, u.line, msg)
			}
		}
		if first, ok := seen[out]; ok {
			return nil, errorf(name, o.line, "output %q is used twice (lines %d and %d)", out, first, o.line)
		}
		seen[out] = o.line
		items = append(items, FetchItem{URL: u.url, Output: out, Line: u.line})
	}
	return items, nil
}

// splitOption splits one config line the way curl does: it returns the
// option as written ("" for a blank or comment line), its value, and whether
// a value was present.
func splitOption(line string) (opt, val string, hasVal bool, err error) {
	s := strings.TrimLeft(line, " \t\r\v\f")
	if s == "" || s[0] == '#' {
		return "", "", false, nil
	}
	dashed := s[0] == '-'
	isSep := func(c byte) bool {
		return isSpace(c) || (!dashed && (c == '=' || c == ':'))
	}
	i := 0
	for i < len(s) && !isSep(s[i]) {
		i++
	}
	if i == 0 {
		return "", "", false, fmt.Errorf("missing option name before %q", s[0:1])
	}
	opt, s = s[:i], s[i:]
	for len(s) > 0 && isSep(s[0]) {
		s = s[1:]
	}
	if s == "" {
		return opt, "", false, nil
	}
	if s[0] == '"' {
		val, rest, err := unquote(s[1:])
		if err != nil {
			return "", "", false, fmt.Errorf("%s: %v", opt, err)
		}
		if rest = strings.TrimLeft(rest, " \t\r\v\f"); rest != "" && rest[0] != '#' {
			return "", "", false, fmt.Errorf("%s: unexpected %q after the quoted value", opt, rest)
		}
		return opt, val, true, nil
	}
	i = 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	val, rest := s[:i], strings.TrimLeft(s[i:], " \t\r\v\f")
	if rest != "" && rest[0] != '#' {
		return "", "", false, fmt.Errorf("%s: value %q is followed by %q; quote values that contain spaces", opt, val, rest)
	}
	return opt, val, true, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// unquote reads a double-quoted value up to its closing quote and returns
// it and the text after the quote. A backslash before any other character
// is dropped, as curl does.
func unquote(s string) (val, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			i++
			if i == len(s) {
				return "", "", fmt.Errorf("unterminated quoted value")
			}
			switch s[i] {
			case 't':
				c = '\t'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 'v':
				c = '\v'
			default:
				c = s[i]
			}
		}
		b.WriteByte(c)
	}
	return "", "", fmt.Errorf("unterminated quoted value")
}

// checkURL reports what is wrong with a fetch URL, or "" if nothing is.
func checkURL(raw string) string {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return "contains a space or control character; percent-encode it"
		}
	}
	sep := strings.Index(raw, "://")
	if sep < 0 {
		return "has no scheme; write http://, https://, file:// or mirror://"
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "is not a valid URL: " + err.Error()
	}
	if u.Scheme == "" || !strings.EqualFold(raw[:sep], u.Scheme) {
		return "has no scheme; write http://, https://, file:// or mirror://"
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "has no host"
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "names a host; a file URL is file:///absolute/path"
		}
		if u.Path == "" || u.Path == "/" {
			return "has no path"
		}
	case "mirror":
		if u.Host == "" || u.Path == "" || u.Path == "/" {
			return "must be mirror://NAME/path"
		}
		if u.Port() != "" || u.User != nil {
			return "must be mirror://NAME/path"
		}
	default:
		return fmt.Sprintf("has scheme %q; only http, https, file and mirror are allowed", u.Scheme)
	}
	// curl expands {a,b} and [1-3] in URLs ("globbing"); brackets around an
	// IPv6 host are the one use it leaves alone.
	rest := raw[sep+3:]
	if u.Host != "" && strings.HasPrefix(rest, "[") {
		if end := strings.IndexByte(rest, ']'); end >= 0 {
			rest = rest[end+1:]
		}
	}
	if strings.ContainsAny(rest, "[]{}") {
		return "contains [ ] { or }, which curl expands as a glob; percent-encode them (%5B %5D %7B %7D)"
	}
	return ""
}

// remoteName is the file name curl's remote-name takes from raw: the last
// path segment, URL-unescaped.
func remoteName(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err.Error()
	}
	p := u.EscapedPath()
	seg := p[strings.LastIndexByte(p, '/')+1:]
	if seg == "" {
		return "", "the URL path has no file name"
	}
	name, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Sprintf("bad escape in %q", seg)
	}
	if msg := checkFileName(name); msg != "" {
		return "", fmt.Sprintf("file name %q %s", name, msg)
	}
	if name == "-" {
		return "", `file name "-" means standard output to curl`
	}
	return name, ""
}
