// A tiny observable store, and a Preact hook that re-renders on change.
import { useEffect, useReducer, useRef } from "preact/hooks";

export type Listener = () => void;

/** Store holds one value; set replaces it and tells every listener. */
export class Store<T> {
  private listeners = new Set<Listener>();
  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(next: T | ((prev: T) => T)) {
    const v = typeof next === "function" ? (next as (p: T) => T)(this.value) : next;
    if (Object.is(v, this.value)) return;
    this.value = v;
    for (const l of [...this.listeners]) l();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/** shallowEqual compares arrays element-wise and objects key-wise. */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || !a || !b) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.is((a as any)[k], (b as any)[k])) return false;
  }
  return true;
}

/** useStore selects from a store and re-renders only when the selection changes (shallowly). */
export function useStore<T, S>(store: { get(): T; subscribe(l: Listener): () => void }, select: (v: T) => S): S {
  const [, force] = useReducer((n: number) => n + 1, 0);
  const selRef = useRef(select);
  selRef.current = select;
  const current = select(store.get());
  const last = useRef(current);
  last.current = current;
  useEffect(() => {
    const check = () => {
      const next = selRef.current(store.get());
      if (!shallowEqual(next, last.current)) {
        last.current = next;
        force(0);
      }
    };
    const un = store.subscribe(check);
    check();
    return un;
  }, [store]);
  return current;
}
