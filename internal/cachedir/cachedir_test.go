package cachedir

import (
	"testing"
)

func TestDefault(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		want    Dir
		wantErr bool
	}{
		{map[string]string{"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/me"}, "/x/cache/hdo", false},
		{map[string]string{"HOME": "/home/me"}, "/home/me/.cache/hdo", false},
		{map[string]string{}, "", true},
	} {
		got, err := Default(func(k string) string { return tc.env[k] })
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Default with %v = %q, %v; want %q, error %v", tc.env, got, err, tc.want, tc.wantErr)
		}
	}
	d := Dir("/c")
	for got, want := range map[string]string{
		d.Sources(): "/c/sources", d.Store(): "/c/store", d.Downloads(): "/c/downloads",
		d.Seeds(): "/c/bootstrap", d.Builds(): "/c/build", d.Checks(): "/c/check",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
