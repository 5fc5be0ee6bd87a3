/** Ids: a short type prefix and 16 random bytes, sortable by creation time. */
import { randomBytes } from "node:crypto";

export type IdPrefix = "ses" | "chg" | "run" | "cp" | "lease" | "req";

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  const time = now.toString(36).padStart(9, "0");
  return `${prefix}_${time}${randomBytes(10).toString("hex")}`;
}

const ID_PATTERN = /^[a-z]{2,5}_[0-9a-z]{9,40}$/;

export function isId(value: string, prefix?: IdPrefix): boolean {
  return ID_PATTERN.test(value) && (prefix === undefined || value.startsWith(`${prefix}_`));
}
