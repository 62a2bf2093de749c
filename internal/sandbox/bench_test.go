package sandbox

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// BenchmarkStartToFirstByte measures Start until the first byte of
// print(1) arrives, through every active layer; bwrap-unstaged is bwrap
// without the helper's staging (its user namespace and binds), for what
// staging costs.
func BenchmarkStartToFirstByte(b *testing.B) {
	for _, m := range []mode{{"bwrap", Config{}}, {"bwrap-unstaged", Config{}}, {"landlock", Config{NoNamespaces: true}}} {
		b.Run(m.name, func(b *testing.B) {
			s := newSandbox(b, m.cfg)
			w := newWorld(b, s)
			if m.name == "bwrap-unstaged" {
				if s.stage == "" {
					b.Skip("nothing is staged here")
				}
				os.Remove(s.stage)
				s.stage, s.layers.Staged = "", false
				os.Chmod(w.root, 0o755) // unstaged, the sandbox uid must walk to the home
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r, wr, _ := os.Pipe()
				spec := w.spec("bench-" + strconv.Itoa(i))
				spec.Args = []string{"-I", "-c", "print(1)"}
				spec.Stdout = wr
				p, err := s.Start(spec)
				wr.Close()
				if err != nil {
					b.Fatal(err)
				}
				one := make([]byte, 1)
				if _, err := io.ReadFull(r, one); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.Wait()
				r.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkBarePython is the same without any sandbox, for comparison.
func BenchmarkBarePython(b *testing.B) {
	for b.Loop() {
		cmd := exec.Command(DefaultPython, "-I", "-c", "print(1)")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		one := make([]byte, 1)
		if _, err := io.ReadFull(out, one); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cmd.Wait()
		b.StartTimer()
	}
}
