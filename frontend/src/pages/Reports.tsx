// Reports: generate one (leads and admins), follow its progress, download it.
import { useState, type FormEvent } from "react";
import { hasRole, useUser } from "../api/auth";
import { parseEnum, REPORT_KIND_LABELS, REPORT_KINDS, type ReportKind } from "../api/enums";
import { useCampaigns } from "../api/hooks/campaigns";
import { useDeleteReport, useGenerateReport, useReportFormats, useReports } from "../api/hooks/reports";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page } from "../components/ui";

export function Reports() {
  const user = useUser();
  const lead = hasRole(user, "admin", "lead");
  const reports = useReports();
  const remove = useDeleteReport();
  return (
    <Page title="Reports">
      {lead && <NewReport />}
      <ErrorBox error={reports.error ?? remove.error} />
      <Card title="Generated reports">
        {reports.isLoading ? <Loading /> : !reports.data?.items.length ? <Empty>No reports yet.</Empty> : (
          <table className="w-full text-sm">
            <thead className="border-b border-line text-left text-muted"><tr><th className="py-2">Title</th><th>Kind</th><th>Format</th><th>Status</th><th>By</th><th>Created</th><th></th></tr></thead>
            <tbody>
              {reports.data.items.map((r) => (
                <tr key={r.id} className="border-b border-line/60" data-report={r.title}>
                  <td className="py-2 font-medium">{r.title}</td>
                  <td>{r.kind}</td>
                  <td>{r.format.startsWith("plugin:") ? "plugin" : r.format}</td>
                  <td>
                    {r.status === "ready" || r.status === "failed" ? <Badge tone={r.status === "failed" ? "red" : "neutral"}>{r.status}</Badge> : (
                      <progress className="w-24" max={100} value={r.progress} aria-label={`Generating ${r.title}`}>{r.progress}%</progress>
                    )}
                    {r.error && <div className="text-xs text-danger">{r.error}</div>}
                  </td>
                  <td>{r.created_by}</td>
                  <td>{formatTime(r.created_at)}</td>
                  <td className="whitespace-nowrap text-right">
                    {r.download_url && <a className="text-accent underline" href={r.download_url} download={r.file_name ?? undefined}>Download {r.file_name}</a>}{" "}
                    {lead && <Button variant="danger" onClick={() => confirm(`Delete "${r.title}"?`) && remove.mutate(r.id)}>Delete</Button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </Page>
  );
}

function NewReport() {
  const formats = useReportFormats();
  const campaigns = useCampaigns();
  const [kind, setKind] = useState<ReportKind>("executive");
  const [format, setFormat] = useState("pdf");
  const [campaign, setCampaign] = useState("");
  const [title, setTitle] = useState("");
  const generate = useGenerateReport();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    generate.mutate({ kind, format, campaign_id: campaign || undefined, title: title || undefined });
  };
  return (
    <Card title="New report" className="mb-4">
      <form aria-label="New report" onSubmit={submit} className="flex flex-wrap items-end gap-3">
        <Field label="Kind">
          <select className={inputClass} value={kind} onChange={(e) => setKind(parseEnum(REPORT_KINDS, e.target.value) ?? kind)}>
            {REPORT_KINDS.map((k) => <option key={k} value={k}>{REPORT_KIND_LABELS[k]}</option>)}
          </select>
        </Field>
        <Field label="Format">
          <select className={inputClass} value={format} onChange={(e) => setFormat(e.target.value)}>
            {formats.data?.map((f) => <option key={f.id} value={f.id}>{f.name}{f.source === "plugin" ? " (plugin)" : ""}</option>)}
          </select>
        </Field>
        <Field label={kind === "campaign" ? "Campaign" : "Campaign (optional)"}>
          <select className={inputClass} value={campaign} onChange={(e) => setCampaign(e.target.value)} required={kind === "campaign"}>
            <option value="">—</option>
            {campaigns.data?.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </Field>
        <Field label="Title (optional)"><input className={inputClass} value={title} onChange={(e) => setTitle(e.target.value)} /></Field>
        <Button type="submit" variant="primary">Generate</Button>
      </form>
      <ErrorBox error={generate.error ?? formats.error} />
    </Card>
  );
}
