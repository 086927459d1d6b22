package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var errBoom = errors.New("boom")

// writers are the ways to write a file; each writes data to path with perm,
// or fails (after writing part of data) when fail is set.
var writers = []struct {
	name  string
	write func(path string, data []byte, perm os.FileMode, fail bool) error
}{
	{"WriteFile", func(path string, data []byte, perm os.FileMode, fail bool) error {
		if fail {
			return nil // no callback to fail; see TestRenameFails
		}
		return WriteFile(path, data, perm)
	}},
	{"WriteFunc", func(path string, data []byte, perm os.FileMode, fail bool) error {
		return WriteFunc(path, perm, func(w io.Writer) error {
			if _, err := w.Write(data[:len(data)/2]); err != nil {
				return err
			}
			if fail {
				return errBoom
			}
			_, err := w.Write(data[len(data)/2:])
			return err
		})
	}},
	{"Create", func(path string, data []byte, perm os.FileMode, fail bool) error {
		f, err := Create(path, perm)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Abort()
			return err
		}
		if fail {
			f.Abort()
			return errBoom
		}
		if err := f.Finish(); err != nil {
			return err
		}
		return f.Commit()
	}},
}

func TestWrite(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // > the 1 MiB buffer
	for _, w := range writers {
		for _, tc := range []struct {
			name    string
			perm    os.FileMode
			existed bool // a destination exists before
			fail    bool
		}{
			{"new 0644", 0o644, false, false},
			{"new 0600", 0o600, false, false},
			{"replace 0640", 0o640, true, false},
			{"fail keeps old", 0o644, true, true},
			{"fail leaves none", 0o644, false, true},
		} {
			t.Run(w.name+"/"+tc.name, func(t *testing.T) {
				if tc.fail && w.name == "WriteFile" {
					t.Skip("WriteFile has no callback to fail")
				}
				dir := t.TempDir()
				path := filepath.Join(dir, "out.bin")
				old := []byte("the old content\n")
				if tc.existed {
					if err := os.WriteFile(path, old, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				err := w.write(path, data, tc.perm, tc.fail)
				if tc.fail {
					if err == nil {
						t.Fatal("no error")
					}
					// (With Create the failing caller owns the error.)
					if w.name != "Create" && !strings.Contains(err.Error(), path) {
						t.Errorf("error %q does not name %s", err, path)
					}
					got, err := os.ReadFile(path)
					switch {
					case tc.existed && !bytes.Equal(got, old):
						t.Errorf("destination changed to %d bytes (%v)", len(got), err)
					case !tc.existed && !errors.Is(err, os.ErrNotExist):
						t.Errorf("destination exists after a failed write (%v)", err)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					got, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, data) {
						t.Errorf("wrote %d bytes, want %d identical", len(got), len(data))
					}
					st, _ := os.Stat(path)
					if st.Mode().Perm() != tc.perm {
						t.Errorf("mode %v, want %v", st.Mode().Perm(), tc.perm)
					}
				}
				checkNoTemps(t, dir)
			})
		}
	}
}

// TestRenameFails: a destination that cannot be replaced (a non-empty
// directory) gives an error naming it and leaves no temporary behind.
func TestRenameFails(t *testing.T) {
	for _, w := range writers {
		dir := t.TempDir()
		path := filepath.Join(dir, "out")
		if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := w.write(path, []byte("data"), 0o644, false); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s", w.name, err, path)
		}
		if st, err := os.Stat(filepath.Join(path, "x")); err != nil || !st.IsDir() {
			t.Errorf("%s: destination damaged (%v)", w.name, err)
		}
		checkNoTemps(t, dir)
	}
}

func TestMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "out.bin")
	for _, w := range writers {
		if err := w.write(path, []byte("x"), 0o644, false); err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: error %v, want one naming %s and wrapping ErrNotExist", w.name, err, path)
		}
	}
	dir := filepath.Join(t.TempDir(), "nope", "ck")
	if err := WriteDir(dir, 0o755, func(string) error { return nil }); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("WriteDir: error %v, want one naming %s", err, dir)
	}
}

func TestFileAbortAfterCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("hi"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // no-op
	if got, _ := os.ReadFile(path); string(got) != "hi" {
		t.Errorf("content %q after Abort", got)
	}
	if err := f.Finish(); err == nil {
		t.Error("Finish after Commit gave no error")
	}
	checkNoTemps(t, dir)
}

func TestWriteDir(t *testing.T) {
	fill := func(content string, fail bool) func(string) error {
		return func(tmp string) error {
			if err := os.WriteFile(filepath.Join(tmp, "a"), []byte(content), 0o644); err != nil {
				return err
			}
			if fail {
				return errBoom
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name    string
		existed bool
		fail    bool
		want    string // content of dir/a afterwards ("" = no dir)
	}{
		{"new", false, false, "new"},
		{"replace", true, false, "new"},
		{"fail keeps old", true, true, "old"},
		{"fail leaves none", false, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "ck")
			if tc.existed {
				if err := WriteDir(dir, 0o755, fill("old", false)); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteDir(dir, 0o750, fill("new", tc.fail))
			if tc.fail {
				if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), dir) {
					t.Errorf("error %v, want boom naming %s", err, dir)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			got, rerr := os.ReadFile(filepath.Join(dir, "a"))
			switch {
			case tc.want == "" && rerr == nil:
				t.Errorf("dir exists after a failed first write")
			case tc.want != "" && string(got) != tc.want:
				t.Errorf("content %q (%v), want %q", got, rerr, tc.want)
			}
			if !tc.fail {
				st, _ := os.Stat(dir)
				if st.Mode().Perm() != 0o750 {
					t.Errorf("mode %v, want 0750", st.Mode().Perm())
				}
			}
			ents, _ := os.ReadDir(parent)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if want := []string{"ck"}; tc.want != "" && !slices.Equal(names, want) || tc.want == "" && len(names) != 0 {
				t.Errorf("parent holds %v", names)
			}
		})
	}
}

// checkNoTemps fails if dir holds a temporary file (a name starting '.').
func checkNoTemps(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}
