import FCSTensor

// The tasks' progress closure doubles as their cancellation check: it is called with
// (completed outer steps, total) before every network evaluation and after every outer step, so
// a caller that returns false stops the work within one network forward.

/// Throws `.cancelled` unless `progress(step, total)` returns true.
func proceed(_ progress: (Int, Int) -> Bool, step: Int, of total: Int) throws(FCSError) {
    guard progress(step, total) else { throw FCSError(.cancelled, "cancelled at step \(min(step + 1, total)) of \(total)") }
}
