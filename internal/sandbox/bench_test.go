package sandbox

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// BenchmarkStartToFirstByte measures Start until the first byte of
// print(1) arrives, through every active layer.
func BenchmarkStartToFirstByte(b *testing.B) {
	for _, m := range []mode{{"bwrap", Config{}}, {"landlock", Config{NoNamespaces: true}}} {
		b.Run(m.name, func(b *testing.B) {
			s := newSandbox(b, m.cfg)
			w := newWorld(b, s)
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
