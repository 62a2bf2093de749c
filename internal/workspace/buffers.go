package workspace

import (
	"io"
	"sync"
)

// copyBufs recycles the buffers of file copies: io.Copy allocates 32 KiB on
// every call, and every autosave copies twice (the ETag check and the write).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyData is io.Copy with a pooled buffer. The reader is wrapped so that
// io.CopyBuffer uses the buffer instead of a WriterTo that allocates its own.
func copyData(dst io.Writer, src io.Reader) (int64, error) {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	return io.CopyBuffer(dst, struct{ io.Reader }{src}, *buf)
}
