package script

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Options configure an Engine. Zero values pick the defaults noted.
type Options struct {
	// Logger receives debug records about runs; nil discards them.
	Logger *slog.Logger
	// MaxHeapGrowth is a run's memory budget: how far the process's live
	// heap may grow during one run before the run is interrupted, and the
	// most one built-in call (String.prototype.repeat, new ArrayBuffer,
	// ...) may build at once (default 256 MiB). Either ends the check with
	// ERROR "script exceeded its memory limit".
	MaxHeapGrowth uint64
	// MaxResponseBytes caps an HTTP response body handed to a script (default 8 MiB).
	MaxResponseBytes int64
	// MaxRows caps the rows one SQL query hands to a script (default 10000).
	MaxRows int
	// MaxCallStack caps the JavaScript call depth (default 1024).
	MaxCallStack int
	// MaxCachedPrograms bounds the compiled-program cache (default 512).
	MaxCachedPrograms int
	// AllowAddress, when set, replaces the default network policy: it is
	// called with every address http and jdbc are about to dial and refuses
	// the dial by returning an error.
	AllowAddress func(network, address string) error
}

// Engine runs JavaScript check scripts. It is safe for concurrent use.
type Engine struct {
	opts Options
	log  *slog.Logger

	prelude *goja.Program
	guard   *goja.Program // memoryGuard

	mu    sync.Mutex
	cache map[[32]byte]*goja.Program
}

// Extension installs extra globals into one run's VM, e.g. the snmp
// engine's "agent". ctx is the check's context: host calls must honour it.
type Extension func(ctx context.Context, run *Run) error

// The engine name used in configuration.
const engineName = "script"

// New returns a script engine.
func New(opts Options) *Engine {
	if opts.MaxHeapGrowth == 0 {
		opts.MaxHeapGrowth = 256 << 20
	}
	if opts.MaxResponseBytes == 0 {
		opts.MaxResponseBytes = 8 << 20
	}
	if opts.MaxRows == 0 {
		opts.MaxRows = 10000
	}
	if opts.MaxCallStack == 0 {
		opts.MaxCallStack = 1024
	}
	if opts.MaxCachedPrograms == 0 {
		opts.MaxCachedPrograms = 512
	}
	if opts.AllowAddress == nil {
		opts.AllowAddress = DefaultAllowAddress
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{opts: opts, log: log, prelude: compilePrelude(), guard: compileMemoryGuard(), cache: map[[32]byte]*goja.Program{}}
}

// Name implements checks.Engine.
func (e *Engine) Name() string { return engineName }

// Execute implements checks.Engine: it runs req.Script with the standard API.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	return e.Run(ctx, req)
}

// compile returns the cached program for src, compiling it on first use.
func (e *Engine) compile(src string) (*goja.Program, error) {
	key := sha256.Sum256([]byte(src))
	e.mu.Lock()
	p, ok := e.cache[key]
	e.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := goja.Compile("check.js", src, false)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.cache) >= e.opts.MaxCachedPrograms {
		clear(e.cache) // simple bound: scripts are few and recompiling is cheap
	}
	e.cache[key] = p
	e.mu.Unlock()
	return p, nil
}

// interruption is the value a run is interrupted with.
type interruption struct {
	status checks.Status
	msg    string
}

// Run executes req.Script in a fresh VM with the standard API plus exts and
// returns the result the script published. Scripts that publish nothing,
// throw, or do not compile produce an ERROR result; a run that reaches the
// deadline produces TIMEOUT. The error return is reserved for failures of
// Bergamot itself.
func (e *Engine) Run(ctx context.Context, req *checks.Request, exts ...Extension) (*checks.Result, error) {
	start := time.Now()
	if _, has := ctx.Deadline(); !has && req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	finish := func(r *checks.Result) (*checks.Result, error) {
		r.Started, r.Runtime = start, time.Since(start)
		return r, nil
	}
	if strings.TrimSpace(req.Script) == "" {
		return finish(&checks.Result{Status: checks.StatusError, Output: "command has no script to run"})
	}
	prog, err := e.compile(req.Script)
	if err != nil {
		return finish(&checks.Result{Status: checks.StatusError, Output: "script does not compile: " + err.Error()})
	}
	run := newRun(ctx, e, req)
	defer run.close()
	if _, err := run.VM.RunProgram(e.prelude); err != nil {
		return nil, fmt.Errorf("script: prelude: %w", err)
	}
	if err := run.guardMemory(); err != nil {
		return nil, fmt.Errorf("script: memory guard: %w", err)
	}
	if err := run.install(ctx); err != nil {
		return nil, fmt.Errorf("script: install API: %w", err)
	}
	for _, ext := range exts {
		if err := ext(ctx, run); err != nil {
			return nil, fmt.Errorf("script: install extension: %w", err)
		}
	}
	stop := e.watch(ctx, run.VM)
	_, err = run.VM.RunProgram(prog)
	stop()
	return finish(run.result(ctx, err))
}

// watch interrupts vm at ctx's end or when the heap grows absurdly; the
// returned func stops watching.
func (e *Engine) watch(ctx context.Context, vm *goja.Runtime) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(sample)
		base := heapValue(sample[0])
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				vm.Interrupt(&interruption{status: checks.StatusTimeout, msg: "script interrupted at the check's deadline"})
				return
			case <-tick.C:
				metrics.Read(sample)
				if now := heapValue(sample[0]); now > base && now-base > e.opts.MaxHeapGrowth {
					vm.Interrupt(&interruption{status: checks.StatusError,
						msg: fmt.Sprintf("%s: memory grew by %d MiB (limit %d MiB)", MemoryLimitExceeded, (now-base)>>20, e.opts.MaxHeapGrowth>>20)})
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func heapValue(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// result turns the end of a run into a check result.
func (r *Run) result(ctx context.Context, err error) *checks.Result {
	if r.stopped != nil { // a guard stopped it, perhaps after its last instruction
		return &checks.Result{Status: r.stopped.status, Output: r.stopped.msg, Perfdata: r.readings}
	}
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		if in, ok := intr.Value().(*interruption); ok {
			return &checks.Result{Status: in.status, Output: in.msg, Perfdata: r.readings}
		}
		return &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("script interrupted: %v", intr.Value())}
	}
	if r.published != nil {
		res := r.published
		res.Perfdata = append(res.Perfdata, r.readings...)
		return res
	}
	if err != nil {
		if ctx.Err() != nil {
			return &checks.Result{Status: checks.StatusTimeout, Output: "script interrupted at the check's deadline: " + err.Error()}
		}
		return &checks.Result{Status: checks.StatusError, Output: "script failed: " + exceptionText(err), Perfdata: r.readings}
	}
	return &checks.Result{Status: checks.StatusError, Output: "script finished without publishing a result", Perfdata: r.readings}
}

// exceptionText is the message of a JavaScript exception, with its position.
func exceptionText(err error) string {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Error()
	}
	return err.Error()
}
