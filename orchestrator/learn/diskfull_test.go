package learn

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
)

// TestCheckpointOnFullDisk saves checkpoints into a 192 KiB tmpfs: the
// first fits, a later one cannot; the failed save must report the error
// and leave the previous checkpoint, and the latest pointer, intact. Needs
// root (to mount tmpfs); skipped otherwise.
func TestCheckpointOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("no mount command")
	}
	dir := filepath.Join(t.TempDir(), "small")
	os.MkdirAll(dir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	defer syscall.Unmount(dir, 0)

	cfg := microConfig()
	l, err := New(exporttest.Runtime(t), cfg, qwen3.RandomWeights(cfg, 1, 0.5), Options{LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Step(context.Background(), batch()); err != nil {
		t.Fatal(err)
	}
	first, err := l.Save(dir, SaveOptions{})
	if err != nil {
		t.Fatalf("first checkpoint should fit: %v", err)
	}
	// Fill the disk so the next checkpoint cannot be written.
	filler := make([]byte, 64<<10)
	for i := 0; ; i++ {
		if err := os.WriteFile(filepath.Join(dir, "filler-"+itoa(i)), filler, 0o644); err != nil {
			break
		}
	}
	if _, err := l.Step(context.Background(), batch()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Save(dir, SaveOptions{}); err == nil {
		t.Fatal("saving on a full disk gave no error")
	}
	latest, err := Latest(dir)
	if err != nil || latest != first {
		t.Fatalf("latest = %q (%v), want %q", latest, err, first)
	}
	if _, err := models.LoadCheckpoint(latest); err != nil {
		t.Fatalf("the previous checkpoint is damaged: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if len(e.Name()) > 0 && e.Name()[0] == '.' {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}
