import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { hasRole, useUser } from "../api/auth";
import type { Schemas } from "../api/client";
import { useAdvanceCampaign, useCampaign, useCampaigns, useCreateCampaign, useDeleteCampaign, useImportLayer } from "../api/hooks/campaigns";
import { useTests } from "../api/hooks/tests";
import { CampaignEditor } from "../components/CampaignEditor";
import { ConfirmAction } from "../components/ConfirmAction";
import { Heatmap } from "../components/Heatmap";
import { plural } from "../lib/words";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatDuration, inputClass, Loading, Page } from "../components/ui";

export function CampaignsList() {
  const user = useUser();
  const lead = hasRole(user, "admin", "lead");
  const navigate = useNavigate();
  const campaigns = useCampaigns();
  const [name, setName] = useState("");
  const [actor, setActor] = useState("");
  const [imported, setImported] = useState<Schemas["ImportedLayer"][] | null>(null);
  const create = useCreateCampaign();
  const importer = useImportLayer();
  function importLayer(files: FileList | null) {
    const file = files?.[0];
    if (file) importer.mutate(file, { onSuccess: setImported });
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name, threat_actor: actor || undefined }, { onSuccess: (c) => navigate(`/campaigns/${c.id}`) });
  };
  return (
    <Page title="Campaigns">
      {lead && (
        <div className="mb-4 grid gap-4 lg:grid-cols-2">
          <Card title="New campaign">
            <form onSubmit={submit} className="flex flex-wrap items-end gap-2">
              <Field label="Name"><input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} required /></Field>
              <Field label="Threat actor"><input className={inputClass} value={actor} onChange={(e) => setActor(e.target.value)} /></Field>
              <Button type="submit" variant="primary">Create</Button>
            </form>
            <ErrorBox error={create.error} />
          </Card>
          <Card title="Import an ATT&CK Navigator layer">
            <input type="file" accept=".json,application/json" aria-label="Navigator layer file" onChange={(e) => importLayer(e.target.files)} />
            <ErrorBox error={importer.error} />
            {imported?.map((r) => (
              <p key={r.campaign.id} className="mt-2 text-sm">
                <Link className="text-accent underline" to={`/campaigns/${r.campaign.id}`}>{r.campaign.name}</Link>: {plural(r.tests_created, "draft test")}
                {r.skipped.length > 0 && <span className="text-muted"> · {r.skipped.length} skipped ({r.skipped.slice(0, 3).map((s) => s.technique_id).join(", ")}{r.skipped.length > 3 ? "…" : ""})</span>}
              </p>
            ))}
          </Card>
        </div>
      )}
      <ErrorBox error={campaigns.error} />
      <Card>
        {campaigns.isLoading ? <Loading /> : !campaigns.data?.items.length ? <Empty>No campaigns yet.</Empty> : (
          <table className="w-full text-sm">
            <thead className="border-b border-line text-left text-muted"><tr><th className="py-2">Name</th><th>Status</th><th>Threat actor</th><th>Progress</th></tr></thead>
            <tbody>
              {campaigns.data.items.map((c) => (
                <tr key={c.id} className="border-b border-line/60">
                  <td className="py-2"><Link className="font-medium text-accent underline" to={`/campaigns/${c.id}`}>{c.name}</Link></td>
                  <td><Badge>{c.status}</Badge></td>
                  <td>{c.threat_actor ?? "—"}</td>
                  <td><Progress progress={c.progress} total={c.tests_total} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </Page>
  );
}

function Progress({ progress, total }: { progress: Record<string, number>; total: number }) {
  const done = (progress.completed ?? 0) + (progress.cancelled ?? 0);
  const percent = total ? Math.round((done * 100) / total) : 0;
  return (
    <div className="flex items-center gap-2" title={Object.entries(progress).map(([k, v]) => `${k}: ${v}`).join(", ")}>
      <div className="h-2 w-32 overflow-hidden rounded bg-untested"><div className="h-full bg-covered" style={{ width: `${percent}%` }} /></div>
      <span className="text-xs text-muted">{done}/{total}</span>
    </div>
  );
}

/** Why a campaign cannot be deleted, or null when it can. */
function deleteBlocker(c: Schemas["CampaignView"]): string | null {
  if (c.tests_total === 0) return null;
  return `It has ${plural(c.tests_total, "test")}, cancelled ones included: only a campaign without tests can be deleted. Move its tests to another campaign first.`;
}

export function CampaignDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const navigate = useNavigate();
  const campaign = useCampaign(id);
  const tests = useTests({ campaign_id: id, limit: 500, sort: "name" });
  const advance = useAdvanceCampaign(id);
  const remove = useDeleteCampaign(id);
  const [editing, setEditing] = useState(false);
  if (campaign.isLoading) return <Page title="Campaign"><Loading /></Page>;
  if (!campaign.data) return <Page title="Campaign"><ErrorBox error={campaign.error} /></Page>;
  const c = campaign.data;
  const lead = hasRole(user, "admin", "lead");
  const k = c.kpis;
  const blocker = deleteBlocker(c);
  return (
    <Page
      title={c.name}
      actions={
        <>
          <a className="rounded-md border border-line px-3 py-1.5 text-sm" href={`/api/v1/coverage/navigator-layer?campaign_id=${c.id}`} download={`${c.name}-layer.json`}>Export Navigator layer</a>
          {lead && c.status === "planned" && <Button variant="primary" onClick={() => advance.mutate("activate")}>Activate</Button>}
          {lead && c.status === "active" && <Button variant="primary" onClick={() => confirm("Complete the campaign? A coverage snapshot is taken.") && advance.mutate("complete")}>Complete</Button>}
          {hasRole(user, "admin", "lead", "red_tech") && c.status !== "completed" && <Link className="rounded-md border border-line px-3 py-1.5 text-sm" to={`/tests/new?campaign=${c.id}`}>Add test</Link>}
          {lead && !editing && <Button onClick={() => setEditing(true)}>Edit</Button>}
          {lead && (
            <ConfirmAction
              label="Delete campaign"
              disabled={!!blocker}
              question={<>Delete the campaign <strong>{c.name}</strong>? It has no tests; its audit history stays.</>}
              confirmLabel="Delete it"
              pending={remove.isPending}
              error={remove.error}
              onConfirm={() => remove.mutate(undefined, { onSuccess: () => navigate("/campaigns") })}
            />
          )}
        </>
      }
    >
      <ErrorBox error={advance.error} />
      {lead && blocker && <p className="mb-3 text-sm text-muted" id="delete-blocker">Cannot be deleted: {blocker}</p>}
      {editing ? (
        <div className="mb-4"><Card title={`Edit (version ${c.version})`}><CampaignEditor campaign={c} onDone={() => setEditing(false)} /></Card></div>
      ) : (
        <>
          <div className="mb-4 flex flex-wrap gap-2 text-sm"><Badge>{c.status}</Badge>{c.threat_actor && <Badge tone="red">{c.threat_actor}</Badge>}<span className="text-muted" data-testid="campaign-dates">{c.starts_on ?? ""} {c.ends_on ? `→ ${c.ends_on}` : ""}</span></div>
          {c.description && <p className="mb-4 max-w-3xl whitespace-pre-wrap text-sm">{c.description}</p>}
        </>
      )}
      {k && (
        <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-5">
          {[["Tests", String(c.tests_total)], ["Completed", String(k.completed)], ["Detection rate", `${k.detection_rate}%`], ["Median time to detect", formatDuration(k.median_time_to_detect_seconds)], ["Gaps", String(k.techniques.gap)]].map(([label, value]) => (
            <div key={label} className="rounded-lg border border-line bg-panel p-3"><div className="text-xs text-muted">{label}</div><div className="text-xl font-semibold">{value}</div></div>
          ))}
        </div>
      )}
      <div className="mb-4">
        <Card title="Coverage in this campaign">
          <Heatmap campaignId={c.id} />
        </Card>
      </div>
      <Card title="Tests">
        {tests.isLoading ? <Loading /> : !tests.data?.items.length ? <Empty>No tests in this campaign.</Empty> : (
          <ul className="divide-y divide-line text-sm">
            {tests.data.items.map((t) => (
              <li key={t.id} className="flex gap-2 py-1.5"><Link className="text-accent underline" to={`/tests/${t.id}`}>{t.name}</Link><span className="text-muted">{t.state}</span>{t.detection_outcome && <Badge tone="blue">{t.detection_outcome}</Badge>}</li>
            ))}
          </ul>
        )}
      </Card>
    </Page>
  );
}
