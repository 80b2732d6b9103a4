package notifiers

import (
	"fmt"
	"sort"
	"sync"
)

// Registry holds the notifiers by channel name. It is safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Notifier
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Notifier{}} }

// Register adds nf under nf.Name(). It panics on an empty or duplicate name:
// both are programming errors in the wiring.
func (r *Registry) Register(nf Notifier) {
	name := nf.Name()
	if name == "" {
		panic("notifiers: Register with empty channel name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("notifiers: channel %q registered twice", name))
	}
	r.m[name] = nf
}

// Lookup returns the notifier for a channel name.
func (r *Registry) Lookup(name string) (Notifier, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	nf, ok := r.m[name]
	return nf, ok
}

// Get is Lookup with an error naming the unknown channel, classified
// permanent (retrying will not make the channel appear).
func (r *Registry) Get(name string) (Notifier, error) {
	if nf, ok := r.Lookup(name); ok {
		return nf, nil
	}
	return nil, Permanent(fmt.Errorf("%w: %q (have %v)", ErrUnknownChannel, name, r.Names()))
}

// Names lists the registered channel names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// All returns the registered notifiers, sorted by name.
func (r *Registry) All() []Notifier {
	names := r.Names()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Notifier, 0, len(names))
	for _, n := range names {
		out = append(out, r.m[n])
	}
	return out
}
