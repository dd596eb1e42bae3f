// A picker of the people who may be a test's red or blue assignee.
import type { SelectHTMLAttributes } from "react";
import type { Schemas } from "../api/client";
import { inputClass } from "./ui";

type Person = Schemas["PersonView"];

/** "Ada Lovelace (ada)", or the username alone when they are the same. */
export function personName(p: Person): string {
  return p.display_name && p.display_name !== p.username ? `${p.display_name} (${p.username})` : p.username;
}

export function PersonSelect({
  side,
  people,
  value,
  onValue,
  nobody = "Nobody",
  ...props
}: { side: "red" | "blue"; people: Person[] | undefined; value: string; onValue: (id: string) => void; nobody?: string } & Omit<
  SelectHTMLAttributes<HTMLSelectElement>,
  "value" | "onChange"
>) {
  const choices = (people ?? []).filter((p) => p[side]);
  const known = !value || choices.some((p) => p.id === value);
  return (
    <select className={inputClass} value={value} onChange={(e) => onValue(e.target.value)} {...props}>
      <option value="">{nobody}</option>
      {!known && <option value={value}>a former user</option>}
      {choices.map((p) => (
        <option key={p.id} value={p.id}>{personName(p)}</option>
      ))}
    </select>
  );
}
