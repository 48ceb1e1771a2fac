package kernels

import "sync"

// scratch keeps the buffers that kernels use for packing and partial sums
// between calls. Unlike a sync.Pool it is not emptied by the garbage
// collector, so steady-state training allocates no scratch memory.
type scratch[T float32 | float64] struct {
	mu   sync.Mutex
	free []*[]T
}

// maxFreeScratch bounds the buffers kept per element type; more are only
// live at once if many kernel calls run concurrently.
const maxFreeScratch = 64

var (
	scratch32 scratch[float32]
	scratch64 scratch[float64]
)

// get returns a buffer of length n with undefined contents: the smallest
// free one that is large enough, or a new one.
func (s *scratch[T]) get(n int) *[]T {
	s.mu.Lock()
	best := -1
	for i, buf := range s.free {
		if cap(*buf) >= n && (best < 0 || cap(*buf) < cap(*s.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		buf := s.free[best]
		s.free[best] = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		s.mu.Unlock()
		*buf = (*buf)[:n]
		return buf
	}
	s.mu.Unlock()
	buf := make([]T, n)
	return &buf
}

// put returns a buffer for reuse.
func (s *scratch[T]) put(buf *[]T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.free) < maxFreeScratch {
		s.free = append(s.free, buf)
	}
}

func getScratch(n int) *[]float32   { return scratch32.get(n) }
func putScratch(buf *[]float32)     { scratch32.put(buf) }
func getScratch64(n int) *[]float64 { return scratch64.get(n) }
func putScratch64(buf *[]float64)   { scratch64.put(buf) }
