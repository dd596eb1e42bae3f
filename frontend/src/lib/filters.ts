// Test-list filters live in the URL, so a view can be bookmarked and shared.
import { OUTCOME_FILTERS, parseEnum, TEST_SORT_KEYS, TEST_STATES, type TestSortKey } from "../api/enums";
import type { TestListQuery } from "../api/hooks/tests";

/** The list's query parameters the URL keeps (each one the API takes). */
export const FILTER_KEYS = [
  "state",
  "technique",
  "tactic",
  "campaign_id",
  "assignee",
  "outcome",
  "platform",
  "tag",
  "created_after",
  "created_before",
  "q",
  "waiting_for",
] as const satisfies readonly (keyof TestListQuery)[];

export type FilterKey = (typeof FILTER_KEYS)[number];

/** A column the list sorts by (ascending; `-` prefixed descending). */
export type SortColumn = Exclude<TestSortKey, `-${string}`>;

export interface ListQuery {
  filters: Partial<Record<FilterKey, string>>;
  sort: TestSortKey;
  limit: number;
  offset: number;
}

/** `me`: the caller's queue. */
const WAITING_FOR = ["me"] as const;

/** `T1059` or `T1059.001`, any case: what the technique filter takes. */
export function isTechniqueId(text: string): boolean {
  return /^[Tt][0-9]{4}(\.[0-9]{3})?$/.test(text.trim());
}

/** How long typing rests before a text filter applies. */
export const TYPING_DELAY_MS = 400;

export const DEFAULT_SORT: TestSortKey = "-created_at";
export const PAGE_SIZES = [25, 50, 100];

/** Reads the query from the URL, ignoring unknown keys, values the API does not take and bad numbers. */
export function parseQuery(params: URLSearchParams): ListQuery {
  const filters: ListQuery["filters"] = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) filters[key] = value;
  }
  if (!parseEnum(TEST_STATES, filters.state)) delete filters.state;
  if (!parseEnum(OUTCOME_FILTERS, filters.outcome)) delete filters.outcome;
  if (!parseEnum(WAITING_FOR, filters.waiting_for)) delete filters.waiting_for;
  const limit = Number(params.get("limit"));
  const offset = Number(params.get("offset"));
  return {
    filters,
    sort: parseEnum(TEST_SORT_KEYS, params.get("sort")) ?? DEFAULT_SORT,
    limit: PAGE_SIZES.includes(limit) ? limit : 25,
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

/** The URL form: defaults left out, so URLs stay short. */
export function toParams(query: ListQuery): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = query.filters[key];
    if (value) params.set(key, value);
  }
  if (query.sort !== DEFAULT_SORT) params.set("sort", query.sort);
  if (query.limit !== 25) params.set("limit", String(query.limit));
  if (query.offset > 0) params.set("offset", String(query.offset));
  return params;
}

/** A changed filter starts again from the first page. */
export function withFilter(query: ListQuery, key: FilterKey, value: string): ListQuery {
  const filters = { ...query.filters, [key]: value || undefined };
  if (!value) delete filters[key];
  return { ...query, filters, offset: 0 };
}

/** Clicking a column sorts by it; clicking it again reverses. */
export function toggleSort(query: ListQuery, column: SortColumn): ListQuery {
  const sort: TestSortKey = query.sort === column ? `-${column}` : column;
  return { ...query, sort, offset: 0 };
}

/** The query as the API takes it: filters, sorting and paging. */
export function toApiQuery(query: ListQuery): TestListQuery {
  const { state, outcome, waiting_for, technique, ...filters } = query.filters;
  return {
    ...filters,
    state: parseEnum(TEST_STATES, state),
    outcome: parseEnum(OUTCOME_FILTERS, outcome),
    waiting_for: parseEnum(WAITING_FOR, waiting_for),
    // A half-typed id is no filter yet (the API refuses it).
    technique: technique && isTechniqueId(technique) ? technique : undefined,
    sort: query.sort,
    limit: query.limit,
    offset: query.offset,
  };
}
