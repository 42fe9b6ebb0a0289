/** The encryption key the robustness processes and the tests share (so replays can read sensitive values). */
export const WORKER_KEY = Buffer.alloc(32, 11).toString('base64')

/** The advisory-lock key the parent holds until every starter process waits on it (then they all go at once). */
export const STARTERS_GO = 424242
