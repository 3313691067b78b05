// Package nearest finds the candidate a user probably meant by a word that
// names nothing: "did you mean make?" for mak, .pkghash for .pkghsh,
// debian for debain.
package nearest

// Word returns the candidate closest to word in edit distance (insertions,
// deletions, substitutions and swaps of two neighbours each cost 1), if it
// is close enough to be a slip: at most 1 edit for words of up to 4 bytes,
// 2 for longer ones, and fewer than the word's length. Among equally close
// candidates the first wins; word itself is never returned.
func Word(word string, candidates []string) (string, bool) {
	limit := 1
	if len(word) > 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == word {
			continue
		}
		if d := distance(word, c); d < bestD && d < len(word) {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// distance is the optimal string alignment distance of a and b, in bytes.
func distance(a, b string) int {
	// Three rows of the dynamic programme: i-2, i-1 and i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
