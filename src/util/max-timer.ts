/** The longest delay a Node timer holds (2^31 - 1 ms, ~24.8 days); past it setTimeout fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
