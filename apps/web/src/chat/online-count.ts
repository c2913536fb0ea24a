/**
 * The online count after a presence diff. Joins are first connections (never counted yet); a leave
 * counts when we listed them, or whenever the list is a capped part of who is online (a crowded
 * channel: the server lists at most PARLEY_PRESENCE_LIST_MAX and says how many in all).
 */
export function countAfterDiff(
  c: { onlineCount: number; online: readonly string[] },
  joins: readonly { user: string }[],
  leaves: readonly string[],
): number {
  const capped = c.onlineCount > c.online.length;
  const came = joins.filter((j) => !c.online.includes(j.user)).length;
  const went = capped ? leaves.length : leaves.filter((u) => c.online.includes(u)).length;
  return Math.max(0, c.onlineCount + came - went);
}
