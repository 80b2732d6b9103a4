// Teams and contacts.
import * as Q from "../api/queries";
import type { Contact, Team } from "../api/types";
import { ErrorBox, Loading, useQuery } from "../components/query";

export function TeamsPage() {
  const { data, error, loading, refetch } = useQuery<{ teams: Team[]; contacts: Contact[] }>(Q.TEAMS);
  return (
    <div class="page">
      <div class="page-head"><h1>Teams & contacts</h1></div>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && (
        <div class="two-col">
          <section class="panel">
            <h2>Teams <span class="count">{data.teams.length}</span></h2>
            {data.teams.length === 0 ? <div class="empty">No teams configured.</div> : (
              <ul class="list">
                {data.teams.map((t) => (
                  <li class="list-item col" key={t.name}>
                    <span><strong>{t.name}</strong> {t.summary && <span class="muted">— {t.summary}</span>}</span>
                    <span class="muted small">{t.contacts.length ? t.contacts.map((c) => c.name).join(", ") : "no members"}</span>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section class="panel">
            <h2>Contacts <span class="count">{data.contacts.length}</span></h2>
            {data.contacts.length === 0 ? <div class="empty">No contacts configured.</div> : (
              <ul class="list">
                {data.contacts.map((c) => (
                  <li class="list-item col" key={c.name}>
                    <span><strong>{c.name}</strong> {c.summary && <span class="muted">— {c.summary}</span>}</span>
                    <span class="muted small">
                      {c.email ? <a href={`mailto:${c.email}`}>{c.email}</a> : "no email"} · {c.teams.join(", ") || "no team"}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </div>
      )}
    </div>
  );
}
