package virtual

import (
	"slices"
)

// DetectCycles finds the dependency cycles in a graph of virtual checks
// (each key depends on the checks it lists). It returns one cycle per
// strongly connected group of checks that depend on each other (or a
// check that depends on itself), as the path of checks around it starting
// at the smallest name, for example [a b c] for a -> b -> c -> a. The
// result is sorted and empty when there is no cycle.
func DetectCycles(graph map[string][]string) [][]string {
	t := &tarjan{graph: graph, index: map[string]int{}, low: map[string]int{}, on: map[string]bool{}}
	nodes := make([]string, 0, len(graph))
	for n := range graph {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		if _, seen := t.index[n]; !seen {
			t.visit(n)
		}
	}
	var out [][]string
	for _, scc := range t.sccs {
		if len(scc) == 1 && !slices.Contains(graph[scc[0]], scc[0]) {
			continue
		}
		out = append(out, cyclePath(graph, scc))
	}
	slices.SortFunc(out, slices.Compare)
	return out
}

type tarjan struct {
	graph      map[string][]string
	index, low map[string]int
	on         map[string]bool
	stack      []string
	sccs       [][]string
	next       int
}

func (t *tarjan) visit(v string) {
	t.index[v], t.low[v] = t.next, t.next
	t.next++
	t.stack = append(t.stack, v)
	t.on[v] = true
	for _, w := range t.graph[v] {
		if _, seen := t.index[w]; !seen {
			t.visit(w)
			t.low[v] = min(t.low[v], t.low[w])
		} else if t.on[w] {
			t.low[v] = min(t.low[v], t.index[w])
		}
	}
	if t.low[v] != t.index[v] {
		return
	}
	var scc []string
	for {
		w := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.on[w] = false
		scc = append(scc, w)
		if w == v {
			break
		}
	}
	t.sccs = append(t.sccs, scc)
}

// cyclePath walks from the smallest member of a strongly connected group
// back to itself (breadth first, so the path is a shortest one).
func cyclePath(graph map[string][]string, scc []string) []string {
	start := slices.Min(scc)
	prev := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		next := slices.Clone(graph[v])
		slices.Sort(next)
		for _, w := range next {
			if !slices.Contains(scc, w) {
				continue
			}
			if w == start {
				path := []string{v}
				for path[0] != start {
					path = append([]string{prev[path[0]]}, path...)
				}
				return path
			}
			if _, seen := prev[w]; !seen {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start}
}
