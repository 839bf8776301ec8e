import { SlotList, type SlotListMember } from '../../util/slot-list.js';

/**
 * How often an open TCP proxy connection's bytes reach the metrics: Istio's stats filter reports TCP
 * connections every 5 s while they are open (its tcp_reporting_duration), so a long-lived connection
 * (a database pool's, a message broker's) shows its traffic as it flows, not only once it closes.
 */
export const TCP_REPORTING_INTERVAL_MS = 5_000;

/** An open connection whose bytes so far can be counted. */
export interface TcpByteReporter extends SlotListMember {
  reportBytes(): void;
}

const open = new SlotList<TcpByteReporter>();
let timer: NodeJS.Timeout | undefined;

/** Reports `connection`'s bytes every interval until stopReporting; one timer serves them all. */
export function reportWhileOpen(connection: TcpByteReporter): void {
  open.add(connection);
  if (timer === undefined) {
    timer = setInterval(reportAll, TCP_REPORTING_INTERVAL_MS);
    timer.unref();
  }
}

export function stopReporting(connection: TcpByteReporter): void {
  open.remove(connection);
  if (open.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

function reportAll(): void {
  open.forEach(reportOne);
}

function reportOne(connection: TcpByteReporter): void {
  connection.reportBytes();
}
