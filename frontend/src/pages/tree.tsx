// Groups and locations as trees with their roll-up status.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { StatusCount } from "../api/types";
import type { CheckUpdate } from "../api/types";
import { ErrorBox, Loading, statusChanged, useLiveRefetch, useQuery } from "../components/query";
import { CountBar, StatusBadge } from "../components/status";
import { href } from "../router";
import type { Status } from "../status";
import { STATUSES_WORST_FIRST } from "../status";

interface Node { name: string; summary: string | null; status: Status; counts: StatusCount[]; parents: string[]; children?: Node[] }
export interface TreeNode { name: string; summary: string | null; status: Status; counts: StatusCount[]; children: TreeNode[] }

/** buildTree links a flat list (each with its parents) into roots with children, cycles cut. */
export function buildTree(items: Node[]): TreeNode[] {
  const byName = new Map<string, Node>();
  const add = (n: Node) => {
    if (!byName.has(n.name)) byName.set(n.name, { ...n, parents: n.parents ?? [] });
    for (const c of n.children ?? []) {
      add({ ...c, parents: c.parents?.length ? c.parents : [n.name] });
    }
  };
  items.forEach(add);
  const kids = new Map<string, string[]>();
  for (const n of byName.values()) for (const p of n.parents) if (byName.has(p)) kids.set(p, [...(kids.get(p) ?? []), n.name]);
  const make = (name: string, seen: Set<string>): TreeNode => {
    const n = byName.get(name)!;
    const next = new Set(seen).add(name);
    return {
      name, summary: n.summary, status: n.status, counts: n.counts,
      children: (kids.get(name) ?? []).filter((k) => !next.has(k)).sort().map((k) => make(k, next)),
    };
  };
  return [...byName.values()].filter((n) => !n.parents.some((p) => byName.has(p))).map((n) => n.name).sort().map((n) => make(n, new Set()));
}

/** affectsTree: the update can change a roll-up of this tree (a member check changed status). */
export function affectsTree(kind: "groups" | "locations", u: CheckUpdate): boolean {
  const member = kind === "groups" ? (u.check.groups?.length ?? 0) > 0 : !!u.check.location;
  return member && statusChanged(u);
}

export function TreePage({ kind }: { kind: "groups" | "locations" }) {
  const q = kind === "groups" ? Q.GROUPS : Q.LOCATIONS;
  const { data, error, loading, refetch } = useQuery<any>(q);
  // Roll-ups change when a member check changes status: refetch live, at most once a second.
  useLiveRefetch(refetch, { relevant: (u) => affectsTree(kind, u) });
  const raw: any[] = data?.[kind] ?? [];
  const items: Node[] = raw.map((r) => ({ ...r, parents: kind === "groups" ? r.parents : r.parent ? [r.parent] : [], children: (r.children ?? []).map((c: any) => ({ ...c, parents: kind === "groups" ? c.parents : c.parent ? [c.parent] : [] })) }));
  const roots = buildTree(items);
  const title = kind === "groups" ? "Groups" : "Locations";
  return (
    <div class="page">
      <div class="page-head"><h1>{title}</h1></div>
      <ErrorBox error={error} retry={refetch} />
      <div class="panel">
        {!data && loading ? <Loading /> : roots.length === 0 ? <div class="empty">No {kind} defined.</div> : (
          <ul class="tree" role="tree" aria-label={title}>
            {roots.map((r) => <TreeItem key={r.name} node={r} kind={kind} depth={0} />)}
          </ul>
        )}
      </div>
    </div>
  );
}

function TreeItem({ node, kind, depth }: { node: TreeNode; kind: "groups" | "locations"; depth: number }) {
  const [open, setOpen] = useState(depth < 1 || node.status !== "OK");
  const has = node.children.length > 0;
  const filterKey = kind === "groups" ? "group" : "location";
  const counts = STATUSES_WORST_FIRST.map((s) => ({ status: s, count: node.counts.find((c) => c.status === s)?.count ?? 0 }));
  const total = counts.reduce((a, c) => a + c.count, 0);
  return (
    <li role="treeitem" aria-expanded={has ? open : undefined} class="tree-item">
      <div class="tree-row" style={{ paddingLeft: `${depth * 18 + 6}px` }}>
        {has ? (
          <button class="tree-toggle" aria-label={open ? `Collapse ${node.name}` : `Expand ${node.name}`} onClick={() => setOpen(!open)}>
            {open ? "▾" : "▸"}
          </button>
        ) : <span class="tree-toggle" aria-hidden="true" />}
        <StatusBadge status={node.status} small />
        <a class="tree-name" href={href("/checks", { [filterKey]: node.name })}>{node.name}</a>
        {node.summary && <span class="muted small ellipsis tree-summary">{node.summary}</span>}
        <span class="tree-counts muted small">{total} check{total === 1 ? "" : "s"}</span>
        <CountBar counts={counts} />
      </div>
      {has && open && (
        <ul role="group">
          {node.children.map((c) => <TreeItem key={c.name} node={c} kind={kind} depth={depth + 1} />)}
        </ul>
      )}
    </li>
  );
}
