/**
 * The fleet link's topic names (the list is in runtime/fleet/types.ts' header and docs/fleet.md),
 * made from the prefix, the terminal id and its fleet group, and the reverse: which inbound kind
 * a topic the broker delivered is.
 */
import type { InboundKind, OutboundKind } from './types.js';

export interface FleetTopics {
  /** Retained { online, at, version }; the last will. */
  state: string;
  /** Retained, the latest health only. */
  health: string;
  /** Where each outbound kind is published. */
  outbound: Record<OutboundKind, string>;
  /** The topics the terminal subscribes to (QoS 1). */
  subscriptions: string[];
  /** The inbound kind of a topic the broker delivered; undefined when it is none of ours. */
  kindOf(topic: string): InboundKind | undefined;
}

export const INBOUND_KINDS: readonly InboundKind[] = ['tasks', 'params', 'cmd'];
export const OUTBOUND_KINDS: readonly OutboundKind[] = ['events', 'cmd/result', 'params/report'];
/** Only these inbound kinds also come on the group's topics (a task is for one courier). */
const GROUP_KINDS: readonly InboundKind[] = ['params', 'cmd'];

export function fleetTopics(prefix: string, terminalId: string, group: string): FleetTopics {
  const own = `${prefix}/t/${terminalId}`;
  const ofGroup = `${prefix}/g/${group}`;
  const byTopic = new Map<string, InboundKind>();
  for (const kind of INBOUND_KINDS) byTopic.set(`${own}/${kind}`, kind);
  for (const kind of GROUP_KINDS) byTopic.set(`${ofGroup}/${kind}`, kind);
  return {
    state: `${own}/state`,
    health: `${own}/health`,
    outbound: {
      events: `${own}/events`,
      'cmd/result': `${own}/cmd/result`,
      'params/report': `${own}/params/report`,
    },
    subscriptions: [...byTopic.keys()],
    kindOf: (topic) => byTopic.get(topic),
  };
}

/** Whether a group topic (no terminal named in it): its messages carry no `terminal`. */
export function isGroupTopic(prefix: string, topic: string): boolean {
  return topic.startsWith(`${prefix}/g/`);
}
