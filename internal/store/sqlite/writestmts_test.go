package sqlite

import (
	"slices"
	"testing"
)

// Writes run as chunks of the prepared sizes, largest first, covering every
// row once and in order.
func TestForChunks(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []int
	}{
		{0, nil},
		{1, []int{1}},
		{100, []int{100}},
		{200, []int{200}},
		{437, []int{200, 200, 20, 10, 5, 1, 1}},
		{49, []int{20, 20, 5, 1, 1, 1, 1}},
	} {
		var got []int
		next := 0
		err := forChunks(c.n, func(start, n, index int) error {
			if start != next || chunkSizes[index] != n {
				t.Fatalf("%d rows: chunk at %d (want %d) of %d rows, prepared size %d", c.n, start, next, n, chunkSizes[index])
			}
			got, next = append(got, n), start+n
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%d rows: chunks %v, want %v", c.n, got, c.want)
		}
	}
}
