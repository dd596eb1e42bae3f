// One action on the selected tests, and what became of each: the server
// applies it test by test under the usual rules, so some may be refused
// while others are done, and the list below says which and why.
import { useState } from "react";
import type { Schemas } from "../api/client";
import { useBulkTests, type BulkRequest } from "../api/hooks/tests";
import { splitTags } from "../lib/testEdit";
import { plural } from "../lib/words";
import { PersonSelect } from "./PersonSelect";
import { TestError } from "./TestError";
import { Badge, Button, inputClass } from "./ui";

type Action = Schemas["BulkTestAction"];

const ACTIONS: { action: Action; label: string }[] = [
  { action: "assign_red", label: "Assign red" },
  { action: "assign_blue", label: "Assign blue" },
  { action: "add_tags", label: "Add tags" },
  { action: "remove_tags", label: "Remove tags" },
  { action: "move_to_campaign", label: "Move to campaign" },
  { action: "start_execution", label: "Start execution" },
  { action: "cancel", label: "Cancel tests" },
];

const STATUS_WORDS: Record<Schemas["BulkItemStatus"], string> = { done: "done", unchanged: "already so", refused: "refused" };

export function BulkActions({
  ids,
  names,
  people,
  campaigns,
  onClear,
}: {
  ids: string[];
  /** The selected tests' names, for the results. */
  names: Map<string, string>;
  people: Schemas["PersonView"][] | undefined;
  campaigns: Schemas["CampaignView"][];
  onClear: () => void;
}) {
  const [action, setAction] = useState<Action>("assign_red");
  const [person, setPerson] = useState("");
  const [tags, setTags] = useState("");
  const [campaign, setCampaign] = useState("");
  const bulk = useBulkTests();
  const request = (): BulkRequest => {
    switch (action) {
      case "assign_red":
      case "assign_blue":
        return { ids, action, user_id: person || null };
      case "add_tags":
      case "remove_tags":
        return { ids, action, tags: splitTags(tags) };
      case "move_to_campaign":
        return { ids, action, campaign_id: campaign || null };
      default:
        return { ids, action };
    }
  };
  const needsTags = (action === "add_tags" || action === "remove_tags") && splitTags(tags).length === 0;
  const apply = () => {
    if (action === "cancel" && !confirm(`Cancel ${plural(ids.length, "test")}?`)) return;
    bulk.mutate(request());
  };
  const report = bulk.data;
  return (
    <section aria-label="Bulk actions" className="mb-3 rounded-md border border-accent/40 bg-surface p-3 text-sm">
      <div className="flex flex-wrap items-end gap-2">
        <span className="font-medium" aria-live="polite">{plural(ids.length, "test")} selected</span>
        <Button onClick={onClear}>Clear selection</Button>
        <select aria-label="Bulk action" className={inputClass} value={action} onChange={(e) => setAction(ACTIONS.find((a) => a.action === e.target.value)?.action ?? "assign_red")}>
          {ACTIONS.map((a) => <option key={a.action} value={a.action}>{a.label}</option>)}
        </select>
        {(action === "assign_red" || action === "assign_blue") && (
          <PersonSelect aria-label="Assignee" side={action === "assign_red" ? "red" : "blue"} people={people} value={person} onValue={setPerson} nobody="Nobody (unassign)" />
        )}
        {(action === "add_tags" || action === "remove_tags") && (
          <input aria-label="Tags to change" placeholder="Tags, comma separated" className={inputClass} value={tags} onChange={(e) => setTags(e.target.value)} />
        )}
        {action === "move_to_campaign" && (
          <select aria-label="Target campaign" className={inputClass} value={campaign} onChange={(e) => setCampaign(e.target.value)}>
            <option value="">No campaign</option>
            {campaigns.filter((c) => c.status !== "completed").map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        )}
        <Button variant="primary" disabled={bulk.isPending || needsTags} onClick={apply}>
          {bulk.isPending ? "Applying…" : `Apply to ${plural(ids.length, "test")}`}
        </Button>
      </div>
      <div className="mt-2"><TestError error={bulk.error} /></div>
      {report && (
        <div className="mt-2" role="status" aria-label="Bulk results">
          <p>
            {[
              report.done > 0 && `${report.done} done`,
              report.unchanged > 0 && `${report.unchanged} already so`,
              report.refused > 0 && `${report.refused} refused`,
            ].filter(Boolean).join(", ") || "Nothing to do"}
          </p>
          <ul className="mt-1 space-y-0.5">
            {report.items.map((item) => (
              <li key={item.id} data-bulk-result={item.status}>
                <Badge tone={item.status === "refused" ? "warn" : "neutral"}>{STATUS_WORDS[item.status]}</Badge>{" "}
                {names.get(item.id) ?? item.id}
                {item.reason && <span className="text-muted"> — {item.reason}</span>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
