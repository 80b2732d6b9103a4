package script

import (
	"fmt"

	"github.com/dop251/goja"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// MemoryLimitExceeded begins the output of a run stopped for memory.
const MemoryLimitExceeded = "script exceeded its memory limit"

// memoryGuard wraps the built-ins that build a large string, array or
// buffer in one step, inside Go, where the heap watcher (Engine.watch)
// cannot interrupt them: 'x'.repeat(1e11) asks for 100 GB at once and Go
// exits with "fatal error: runtime: out of memory", taking the worker (and
// under bergamot run, the whole service) with it. Each guard estimates the
// size before the call and stops the run when it is over the run's budget
// (Options.MaxHeapGrowth). The originals stay in this closure, out of the
// script's reach; prototype.constructor points at the guarded
// constructors. $limit and $over are installed by guardMemory and removed
// here.
const memoryGuard = `(function(g, limit, over) {
	var R = Reflect, apply = R.apply, construct = R.construct, define = Object.defineProperty;
	var len = function(o) {
		if (o === null || o === undefined) return 0;
		var n = Number(o.length);
		return n > 0 ? n : 0;
	};
	var wrap = function(obj, name, size) {
		var orig = obj[name];
		if (typeof orig !== 'function') return;
		var f = function() {
			var s = size(this, arguments);
			if (s > limit) return over(name, s);
			return apply(orig, this, arguments);
		};
		define(f, 'name', { value: name });
		define(f, 'length', { value: orig.length });
		define(obj, name, { value: f, writable: true, configurable: true, enumerable: false });
	};
	var strLen = function(s) { return s === null || s === undefined ? 0 : String(s).length; };
	var SP = String.prototype, AP = Array.prototype, FP = Function.prototype;
	wrap(SP, 'repeat', function(s, a) { return strLen(s) * Math.max(Number(a[0]) || 0, 0); });
	wrap(SP, 'padStart', function(s, a) { return Number(a[0]) || 0; });
	wrap(SP, 'padEnd', function(s, a) { return Number(a[0]) || 0; });
	// A hole costs nothing in an array, but joining or filling visits it.
	wrap(AP, 'join', function(o, a) { return Math.max(len(o) - 1, 0) * (a[0] === undefined ? 1 : strLen(a[0])); });
	wrap(AP, 'fill', function(o) { return len(o) * 16; });
	wrap(Array, 'from', function(o, a) { return len(a[0]) * 16; });
	// Calling with an array-like spreads it into an argument list of its length.
	wrap(FP, 'apply', function(f, a) { return len(a[1]) * 16; });
	wrap(R, 'apply', function(r, a) { return len(a[2]) * 16; });
	wrap(R, 'construct', function(r, a) { return len(a[1]) * 16; });
	var AB = g.ArrayBuffer, keys = Object.getOwnPropertyNames, proto = Object.getPrototypeOf;
	// A constructor is replaced by a function with the same prototype
	// (instanceof keeps working) and statics.
	var guardCtor = function(name, bytes) {
		var C = g[name];
		if (typeof C !== 'function') return;
		var G = function() {
			if (new.target === undefined) throw new TypeError('Constructor ' + name + ' requires \'new\'');
			var a = arguments[0], n = 0;
			if (typeof a === 'number') n = a;
			else if (a !== null && typeof a === 'object' && !(a instanceof AB)) n = len(a);
			if (n * bytes > limit) return over('new ' + name, n * bytes);
			return construct(C, arguments, new.target === G ? C : new.target);
		};
		Object.setPrototypeOf(G, proto(C));
		keys(C).forEach(function(k) { if (k !== 'prototype' && k !== 'length' && k !== 'name') define(G, k, Object.getOwnPropertyDescriptor(C, k)); });
		define(G, 'prototype', { value: C.prototype, writable: false });
		define(G, 'name', { value: name });
		define(G, 'length', { value: C.length });
		define(C.prototype, 'constructor', { value: G, writable: true, configurable: true, enumerable: false });
		define(g, name, { value: G, writable: true, configurable: true, enumerable: false });
	};
	guardCtor('ArrayBuffer', 1);
	var typed = { Int8Array: 1, Uint8Array: 1, Uint8ClampedArray: 1, Int16Array: 2, Uint16Array: 2, Int32Array: 4,
		Uint32Array: 4, Float32Array: 4, Float64Array: 8, BigInt64Array: 8, BigUint64Array: 8 };
	for (var k in typed) guardCtor(k, typed[k]);
})(this, $limit, $over); delete this.$limit; delete this.$over;`

// compileMemoryGuard compiles memoryGuard; each engine does it once.
func compileMemoryGuard() *goja.Program {
	return goja.MustCompile("memory-guard.js", memoryGuard, false)
}

// guardMemory installs the allocation guards in the run's VM. A call over
// the budget interrupts the run (a script cannot catch that) and the check
// ends with ERROR "script exceeded its memory limit: ...".
func (r *Run) guardMemory() error {
	limit := r.engine.opts.MaxHeapGrowth
	over := func(c goja.FunctionCall) goja.Value {
		what := c.Argument(0).String()
		need := c.Argument(1).ToFloat()
		r.stop(checks.StatusError, fmt.Sprintf("%s: %s would need about %s (limit %d MiB)", MemoryLimitExceeded, what, humanBytes(need), limit>>20))
		return goja.Undefined()
	}
	if err := r.VM.Set("$limit", float64(limit)); err != nil {
		return err
	}
	if err := r.VM.Set("$over", over); err != nil {
		return err
	}
	_, err := r.VM.RunProgram(r.engine.guard)
	return err
}

// stop interrupts the run with status and msg; the first reason wins.
func (r *Run) stop(status checks.Status, msg string) {
	if r.stopped == nil {
		r.stopped = &interruption{status: status, msg: msg}
	}
	r.VM.Interrupt(r.stopped)
}

// humanBytes writes n bytes in a unit a person reads at a glance.
func humanBytes(n float64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f bytes", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
