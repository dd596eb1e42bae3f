// The server's enums, as the dashboard uses them. Every type is the generated
// one (schema.d.ts); where a page needs the values at run time, the list below
// is checked against its union both ways: `satisfies` refuses a value the
// server does not know, and `EnumListsCover` refuses a list missing one the
// server added, naming it. Type-only imports: lib/ code and tests load this.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Role = Schemas["Role"];
export type TestState = Schemas["TestState"];
export type AttackOutcome = Schemas["AttackOutcome"];
export type DetectionOutcome = Schemas["DetectionOutcome"];
export type Side = Schemas["Side"];
export type CampaignStatus = Schemas["CampaignStatus"];
export type CoverageStatus = Schemas["Status"];
export type Severity = Schemas["Severity"];
export type AlertStatus = Schemas["AlertStatus"];
export type ReportKind = Schemas["ReportKind"];
export type ReportStatus = Schemas["ReportStatus"];
export type PluginKind = Schemas["PluginKind"];
export type TestSortKey = Schemas["TestSortKey"];
export type OutcomeFilter = Schemas["OutcomeFilter"];

export const ROLES = ["admin", "lead", "red_tech", "blue_tech", "viewer"] as const satisfies readonly Role[];
export const TEST_STATES = ["draft", "red_executing", "blue_evaluating", "completed", "cancelled"] as const satisfies readonly TestState[];
export const ATTACK_OUTCOMES = ["succeeded", "failed", "blocked"] as const satisfies readonly AttackOutcome[];
export const DETECTION_OUTCOMES = ["prevented", "alerted", "logged", "not_detected"] as const satisfies readonly DetectionOutcome[];
/** In the order the heatmap's legend shows them. */
export const COVERAGE_STATUSES = ["covered", "partial", "gap", "untested"] as const satisfies readonly CoverageStatus[];
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const satisfies readonly Severity[];
export const ALERT_STATUSES = ["open", "acknowledged", "resolved"] as const satisfies readonly AlertStatus[];
/** In the order the report form offers them. */
export const REPORT_KINDS = ["executive", "coverage", "campaign"] as const satisfies readonly ReportKind[];
export const PLUGIN_KINDS = ["alert_rule", "report_format"] as const satisfies readonly PluginKind[];
/** The test list's columns; a leading `-` sorts descending. */
export const TEST_SORT_KEYS = [
  "name", "-name", "created_at", "-created_at", "updated_at", "-updated_at",
  "executed_at", "-executed_at", "state", "-state", "technique_id", "-technique_id",
] as const satisfies readonly TestSortKey[];
/** The `outcome` filter takes either side's outcome. */
export const OUTCOME_FILTERS = [...ATTACK_OUTCOMES, ...DETECTION_OUTCOMES] as const satisfies readonly OutcomeFilter[];

/** `true` when `V` names every member of `U`, else the members it misses. */
type Covers<U, V extends readonly unknown[]> = [Exclude<U, V[number]>] extends [never] ? true : { missing: Exclude<U, V[number]> };
type AllTrue<T extends readonly true[]> = T;

/** Compiles only while every list above is complete; the error names what is missing. */
export type EnumListsCover = AllTrue<[
  Covers<Role, typeof ROLES>,
  Covers<TestState, typeof TEST_STATES>,
  Covers<AttackOutcome, typeof ATTACK_OUTCOMES>,
  Covers<DetectionOutcome, typeof DETECTION_OUTCOMES>,
  Covers<CoverageStatus, typeof COVERAGE_STATUSES>,
  Covers<Severity, typeof SEVERITIES>,
  Covers<AlertStatus, typeof ALERT_STATUSES>,
  Covers<ReportKind, typeof REPORT_KINDS>,
  Covers<PluginKind, typeof PLUGIN_KINDS>,
  Covers<TestSortKey, typeof TEST_SORT_KEYS>,
  Covers<OutcomeFilter, typeof OUTCOME_FILTERS>,
]>;

/** `value` if it is one of `values` (a URL parameter, a select's value), else undefined. */
export function parseEnum<T extends string>(values: readonly T[], value: string | null | undefined): T | undefined {
  return values.find((v) => v === value);
}

export const REPORT_KIND_LABELS: Record<ReportKind, string> = {
  executive: "Executive summary",
  coverage: "Coverage report",
  campaign: "Campaign report",
};

export const PLUGIN_KIND_LABELS: Record<PluginKind, string> = {
  alert_rule: "Alert rule",
  report_format: "Report format",
};
