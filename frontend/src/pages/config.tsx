// Configuration: XML editor with line numbers, dry-run validation with
// errors at their lines, a diff, apply, and the revision history.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { ConfigError, ConfigResult, ConfigRevision } from "../api/types";
import { ErrorBox, Loading, useQuery } from "../components/query";
import { ago, dateTime } from "../format";
import { useApp } from "../store/app";
import { usePermissions } from "../store/permissions";

const STARTER = `<?xml version="1.0" encoding="UTF-8"?>
<bergamot site="my-site">
  <command name="dummy-ok" engine="dummy">
    <parameter name="status">OK</parameter>
    <parameter name="output">all good</parameter>
  </command>
  <host name="example-host" address="127.0.0.1">
    <check-command command="dummy-ok"/>
  </host>
</bergamot>
`;

/** errorLines maps line numbers to the messages reported there. */
export function errorLines(errors: ConfigError[]): Map<number, string[]> {
  const m = new Map<number, string[]>();
  for (const e of errors) if (e.line && e.line > 0) m.set(e.line, [...(m.get(e.line) ?? []), e.message]);
  return m;
}

/** ConfigObject is a named element directly inside <bergamot> (a host, command, team...). */
export interface ConfigObject {
  tag: string;
  name: string;
}

const unescapeXml = (s: string) =>
  s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");

/** topLevelObjects lists the named objects directly inside the root element (parameters excluded). */
export function topLevelObjects(xml: string): ConfigObject[] {
  const text = xml.replace(/<!--[\s\S]*?-->/g, "").replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "").replace(/<\?[\s\S]*?\?>/g, "");
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
  const out: ConfigObject[] = [];
  let depth = 0;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    const [, close, name, attrs, selfClosing] = m;
    if (close) {
      depth--;
      continue;
    }
    if (depth === 1 && name !== "parameter") {
      const a = /(?:^|\s)name\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(attrs);
      if (a) out.push({ tag: name, name: unescapeXml(a[1] ?? a[2] ?? "") });
    }
    if (!selfClosing) depth++;
  }
  return out;
}

/** droppedObjects lists the top-level objects of before that after no longer has. */
export function droppedObjects(before: string, after: string): ConfigObject[] {
  const kept = new Set(topLevelObjects(after).map((o) => `${o.tag}\u0000${o.name}`));
  return topLevelObjects(before).filter((o) => !kept.has(`${o.tag}\u0000${o.name}`));
}

/** markAbsent adds `<tag name="..." state="absent"/>` for each object before the closing root tag. */
export function markAbsent(xml: string, objs: ConfigObject[]): string {
  const lines = objs.map((o) => `    <${o.tag} name="${escapeXml(o.name)}" state="absent"/>\n`).join("");
  const at = xml.lastIndexOf("</bergamot>");
  return at < 0 ? xml + lines : xml.slice(0, at) + lines + xml.slice(at);
}

const describeObjects = (objs: ConfigObject[]) => {
  const shown = objs.slice(0, 5).map((o) => `${o.tag} "${o.name}"`).join(", ");
  return objs.length > 5 ? `${shown} and ${objs.length - 5} more` : shown;
};

export function ConfigPage() {
  const app = useApp();
  const { data, error, loading, refetch } = useQuery<{ configXml: string; configRevisions: ConfigRevision[] }>(Q.CONFIG);
  const [xml, setXml] = useState<string | null>(null);
  const [result, setResult] = useState<(ConfigResult & { dry: boolean }) | null>(null);
  const [busy, setBusy] = useState(false);
  const perm = usePermissions();
  useEffect(() => {
    if (data && xml === null) setXml(data.configXml.trim() ? data.configXml : STARTER);
  }, [data]);
  const dirty = data !== null && xml !== null && xml !== data.configXml;
  const dropped = useMemo(() => (data && xml !== null && data.configXml.trim() ? droppedObjects(data.configXml, xml) : []), [data, xml]);

  async function run(dryRun: boolean) {
    if (xml === null) return;
    setBusy(true);
    try {
      const d = await app.client.request<{ applyConfig: ConfigResult }>(Q.APPLY_CONFIG, { xml, dryRun });
      setResult({ ...d.applyConfig, dry: dryRun });
      if (!dryRun && d.applyConfig.ok) {
        app.toast({ kind: "info", title: `Configuration applied${d.applyConfig.revision ? ` (revision ${d.applyConfig.revision})` : ""}` }, 5000);
        const fresh = await app.client.request<{ configXml: string }>(`query { configXml }`).catch(() => null);
        await refetch();
        if (fresh) setXml(fresh.configXml);
        void app.refreshOverview().catch(() => {});
      }
    } catch (e) {
      setResult({ ok: false, errors: [{ message: (e as Error).message, file: null, line: null, object: null }], added: 0, changed: 0, removed: 0, diff: null, revision: null, dry: dryRun });
    } finally {
      setBusy(false);
    }
  }

  const errs = result && !result.ok ? result.errors : [];
  return (
    <div class="page config-page">
      <div class="page-head">
        <h1>Configuration</h1>
        {dirty && <span class="chip">unsaved changes</span>}
      </div>
      <ErrorBox error={error} retry={refetch} />
      {xml === null ? (
        loading ? <Loading /> : null
      ) : (
        <>
          <Editor value={xml} onChange={(v) => { setXml(v); setResult(null); }} errors={errs} />
          <div class="actions">
            <button class="btn" data-action="validate" disabled={busy} onClick={() => run(true)}>
              Validate & preview
            </button>
            <button class="btn btn-primary" data-action="apply" disabled={busy || !perm.canEdit} title={perm.editReason || undefined} onClick={() => run(false)}>
              Apply
            </button>
            {dirty && (
              <button class="btn btn-ghost" onClick={() => { setXml(data!.configXml || STARTER); setResult(null); }}>
                Discard changes
              </button>
            )}
            <span class="muted small">Validation runs the same checks as Apply without changing anything.</span>
          </div>
          {dropped.length > 0 && (
            <div class="notice" role="note" data-testid="config-dropped">
              <span class="grow">
                <strong>Deleting text does not delete objects.</strong> Apply merges this text onto the stored configuration, so{" "}
                {describeObjects(dropped)} {dropped.length === 1 ? "would stay" : "would all stay"}. To remove {dropped.length === 1 ? "it" : "them"}, add{" "}
                <code>state="absent"</code>.
              </span>
              <button class="btn btn-small" data-action="mark-absent" onClick={() => { setXml(markAbsent(xml!, dropped)); setResult(null); }}>
                Mark {dropped.length === 1 ? "it" : `all ${dropped.length}`} for removal
              </button>
            </div>
          )}
          {result && <ResultView result={result} />}
        </>
      )}
      <Revisions revisions={data?.configRevisions ?? []} />
    </div>
  );
}

function ResultView({ result }: { result: ConfigResult & { dry: boolean } }) {
  if (!result.ok) {
    return (
      <section class="panel result result-bad" role="alert" data-testid="config-errors">
        <h2>✕ {result.errors.length} problem{result.errors.length === 1 ? "" : "s"}: nothing was applied</h2>
        <ul class="list">
          {result.errors.map((e, i) => (
            <li class="list-item" key={i}>
              {e.line ? (
                <button class="link-btn mono" onClick={() => jumpToLine(e.line!)}>
                  {e.file ? `${e.file}:` : "line "}
                  {e.line}
                </button>
              ) : e.file ? <span class="mono">{e.file}</span> : null}
              {e.object && <span class="chip">{e.object}</span>}
              <span class="grow">{e.message}</span>
            </li>
          ))}
        </ul>
      </section>
    );
  }
  return (
    <section class="panel result result-ok" role="status" data-testid="config-result">
      <h2>
        ✓ {result.dry ? "Valid" : "Applied"} — <span class="diff-add">+{result.added} added</span>, <span class="diff-chg">~{result.changed} changed</span>, <span class="diff-del">−{result.removed} removed</span>
        {result.revision ? ` · revision ${result.revision}` : ""}
      </h2>
      {result.diff ? <Diff text={result.diff} /> : <div class="empty small">No differences.</div>}
    </section>
  );
}

function jumpToLine(line: number) {
  const ta = document.querySelector<HTMLTextAreaElement>(".editor textarea");
  if (!ta) return;
  const lines = ta.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
  ta.focus();
  ta.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  const lh = parseFloat(getComputedStyle(ta).lineHeight) || 18;
  ta.scrollTop = Math.max(0, (line - 5) * lh);
}

export function Editor({ value, onChange, errors }: { value: string; onChange: (v: string) => void; errors: ConfigError[] }) {
  const gutter = useRef<HTMLDivElement>(null);
  const bands = useRef<HTMLDivElement>(null);
  const marks = useMemo(() => errorLines(errors), [errors]);
  const count = value.split("\n").length;
  const sync = (e: Event) => {
    const ta = e.currentTarget as HTMLTextAreaElement;
    if (gutter.current) gutter.current.scrollTop = ta.scrollTop;
    if (bands.current) bands.current.style.transform = `translateY(${-ta.scrollTop}px)`;
  };
  const onKey = (e: KeyboardEvent) => {
    // Tab inserts two spaces; Escape then Tab leaves the editor (keyboard users are not trapped).
    const ta = e.currentTarget as HTMLTextAreaElement;
    if (e.key === "Tab" && !e.shiftKey && !(ta as any)._escaped) {
      e.preventDefault();
      const { selectionStart: a, selectionEnd: b } = ta;
      const v = ta.value.slice(0, a) + "  " + ta.value.slice(b);
      onChange(v);
      requestAnimationFrame(() => ta.setSelectionRange(a + 2, a + 2));
    }
    (ta as any)._escaped = e.key === "Escape";
  };
  return (
    <div class="editor">
      <div class="gutter" ref={gutter} aria-hidden="true">
        {Array.from({ length: count }, (_, i) => {
          const m = marks.get(i + 1);
          return (
            <div key={i} class={`ln ${m ? "ln-err" : ""}`} title={m?.join("\n")} data-line={i + 1}>
              {m ? "✕ " : ""}
              {i + 1}
            </div>
          );
        })}
      </div>
      <div class="editor-body">
        <div class="bands" ref={bands} aria-hidden="true">
          {[...marks.keys()].map((line) => (
            <div key={line} class="band" style={{ top: `${(line - 1) * 19 + 8}px` }} />
          ))}
        </div>
        <textarea
          spellcheck={false}
          aria-label="Configuration XML (press Escape then Tab to leave)"
          aria-invalid={marks.size > 0}
          value={value}
          onInput={(e) => onChange(e.currentTarget.value)}
          onScroll={sync}
          onKeyDown={onKey}
          wrap="off"
        />
      </div>
    </div>
  );
}

export function Diff({ text }: { text: string }) {
  return (
    <pre class="diff">
      {text.split("\n").map((l, i) => (
        <div key={i} class={l.startsWith("+") ? "diff-add" : l.startsWith("-") ? "diff-del" : l.startsWith("@@") ? "diff-hunk" : ""}>
          {l || " "}
        </div>
      ))}
    </pre>
  );
}

function Revisions({ revisions }: { revisions: ConfigRevision[] }) {
  const [open, setOpen] = useState<number | null>(null);
  return (
    <section class="panel">
      <h2>Revisions</h2>
      {revisions.length === 0 ? (
        <div class="empty">No revisions yet. Apply a configuration to create the first.</div>
      ) : (
        <ul class="list">
          {revisions.map((r) => (
            <li key={r.id} class="revision">
              <button class="list-item revision-head" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? null : r.id)}>
                <span class="mono">#{r.id}</span>
                <span class="grow">{r.summary || "(no summary)"}</span>
                <span class="diff-add small">+{r.added}</span>
                <span class="diff-chg small">~{r.changed}</span>
                <span class="diff-del small">−{r.removed}</span>
                <span class="muted small" title={dateTime(r.createdAt)}>
                  {r.author} · {ago(r.createdAt)}
                </span>
              </button>
              {open === r.id && <Diff text={r.diff} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
