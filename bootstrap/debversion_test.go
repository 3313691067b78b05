package bootstrap

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The expected orders were checked against dpkg --compare-versions.
func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.1", -1},
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0-0", 0},
		{"1:0.1", "2.0", 1},
		{"1.0a", "1.0", 1},
		{"1.0+b1", "1.0", 1},
		{"1.0~", "1.0", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0~~a", "1.0~", -1},
		{"2.36-9+deb12u10", "2.36-9+deb12u9", 1},
		{"12.2.0-14+deb12u1", "12.2.0-14", 1},
		{"1.01", "1.1", 0},
		{"1.0.0", "1.0", 1},
		{"0:1.0", "1.0", 0},
		{"1.2-3-4", "1.2-3-5", -1},
		{"10", "9", 1},
		{"1.0-a", "1.0-1", 1},
		{"1.0.a", "1.0a", 1},
		{"1.0+", "1.0.", -1},
		{"1.0-1", "1.0-1~bpo1", 1},
		{"7.2.1-1", "7.2.1-1+b1", -1},
		{"1.0a", "1.0+", -1},
		{"2:1", "1:9", 1},
		{"1.0-0.1", "1.0", 1},
		{"0", "0~", 1},
		{"1.2.3", "1.2.3", 0},
	} {
		t.Run(tc.a+"_vs_"+tc.b, func(t *testing.T) {
			a, b := MustParseVersion(tc.a), MustParseVersion(tc.b)
			if got := a.Compare(b); got != tc.want {
				t.Errorf("Compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := b.Compare(a); got != -tc.want {
				t.Errorf("Compare(%s, %s) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Version
		wantErr string
	}{
		{in: "1.0", want: Version{0, "1.0", ""}},
		{in: "1:2.3-4", want: Version{1, "2.3", "4"}},
		{in: "2.36-9+deb12u10", want: Version{0, "2.36", "9+deb12u10"}},
		{in: "1.2-3-4", want: Version{0, "1.2-3", "4"}},
		{in: "1:2:3", want: Version{1, "2:3", ""}},
		{in: "", wantErr: `version "": empty upstream version`},
		{in: "a1", wantErr: `version "a1": the upstream version must start with a digit`},
		{in: "1.0-", wantErr: `version "1.0-": empty revision after '-'`},
		{in: "-1", wantErr: `version "-1": empty upstream version`},
		{in: "01:1", wantErr: `version "01:1": the epoch before ':' must be a number`},
		{in: "1.0 2", wantErr: `version "1.0 2": upstream version has ' '; it may hold letters, digits and . + ~ -`},
		{in: "1-a_b", wantErr: `version "1-a_b": revision has '_'; it may hold letters, digits and . + ~`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseVersion(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseVersion(%q) error = %v, want %s", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
			if got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}
