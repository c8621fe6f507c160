// Package conversation is the inbox's data model: conversations, the messages
// in them and the platform identities that write them, plus the rules by which
// platform events change them.
//
// # Threads
//
// A conversation is one thread on one channel: a DM thread per customer
// (thread key = the customer's platform user id) or a comment thread per post
// (thread key = the post, video or group id). Its id is derived from
// (workspace, channel, kind, thread key), so every worker that sees the thread
// computes the same id and concurrent writers converge on one document.
//
// A message's id is derived from (channel, platform message id). Events about
// a message (edit, delete, hide, reaction, delivery status) can arrive before
// the message itself: they create a placeholder (Placeholder true, invisible in
// lists) that the original fills in when it arrives.
//
// # Merge rules
//
// Every platform event is applied at most once per message: its dedupe key is
// recorded on the message in the same atomic write that applies it. The
// remaining rules make the final state independent of arrival order:
//
//   - Text: the version with the latest platform time wins. An edit wins a tie
//     with the original; every edit is kept in Edits (the audit trail).
//   - Delete is final and keeps the text; hide and unhide toggle by time and
//     never undo a delete.
//   - A reaction is one per user; the latest by platform time wins, and a
//     removal is remembered so an older "set" cannot resurrect it.
//   - Delivery state only moves forward (pending < sent < failed < delivered <
//     read); a failure's error is recorded whatever the order.
//   - Conversation counters count each non-placeholder message exactly once;
//     last_*_at are maxima; WaitingSince is the earliest incoming message not
//     followed by an outgoing one.
//
// # For the workflow
//
// Conversation and Message carry the fields ingest owns. Workflow fields
// (assignee, labels, priority, snooze) belong on the conversation document too;
// write them with field-level updates ($set of the field), never by replacing
// the document, because ingest updates counters concurrently. Outbound messages
// sent by agents should use MessageID(channel, platform id) as their id once the
// platform answers, so the echo and the delivery statuses land on them; every
// list of messages must leave out Placeholder messages.
package conversation
