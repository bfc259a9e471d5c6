package sqlite

import (
	"slices"
	"testing"
)

// Writes run as chunks of the prepared sizes, largest first, covering every
// row once.
func TestNextChunk(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []int
	}{
		{1, []int{1}},
		{100, []int{100}},
		{200, []int{200}},
		{437, []int{200, 200, 20, 10, 5, 1, 1}},
		{49, []int{20, 20, 5, 1, 1, 1, 1}},
	} {
		var got []int
		for left := c.n; left > 0; {
			n, i := nextChunk(left)
			if i < 0 || chunkSizes[i] != n {
				t.Fatalf("nextChunk(%d) = %d, index %d", left, n, i)
			}
			got = append(got, n)
			left -= n
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%d rows: chunks %v, want %v", c.n, got, c.want)
		}
	}
}
