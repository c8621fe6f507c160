// Package ingest takes platform webhooks from the HTTP edge to stored
// conversations and messages.
//
// # Path of a webhook
//
// The Receiver finds the channel (by URL, or by the page/account/phone ids of
// a Meta body), verifies the platform's signature over the raw bytes, checks
// the body parses, and appends the raw body to a durable Queue before the
// handler answers 200. Nothing is stored when any of that fails. A Worker
// claims batches of deliveries, the Processor parses and stores them, and the
// Worker acknowledges the batch only after everything is stored and published;
// a crash in between redelivers the batch.
//
// Storing is two steps. Stage applies a batch's changes to its messages and
// picks the messages it has to count; Fold counts them into their
// conversations, refreshes previews, records identities and publishes the
// events. A quiet queue folds every batch at once. While a backlog waits, a
// Worker stages claim after claim (preparing the next claim while the store
// writes the current one) and folds them together, so a conversation is
// written once per fold rather than once per batch (WorkerOptions.FoldMax,
// FoldAfter); their deliveries are acknowledged after that fold.
//
// # Exactly once
//
// Every platform event becomes a conversation.Change. The store records the
// event's dedupe key on the message in the same atomic write that applies it,
// so a retried or redelivered event changes nothing, and tells the Processor
// which changes this batch applied (its token). A message enters its
// conversation's counters through a second write, guarded by a record of the
// counted message that the conversation keeps: a message this batch creates
// is stored already marked counted, with the delivery that created it, and
// counted right after; if the worker dies in between, the redelivery of that
// delivery counts it again and the guard keeps that from counting twice. A
// record is dropped at the conversation's next count once the batch that
// wrote it is acknowledged (settled) and can never come back, or after an
// hour; other deliveries of the same event never recount a message, so a
// busy conversation carries only the records of batches still in flight.
//
// Events on the bus follow the store: message.created when this batch counted
// a message, message.updated when it applied a change to a visible message,
// conversation.updated when it counted into a conversation, identity.seen when
// it created an identity. Duplicates publish nothing. A batch that is a
// redelivery (its worker died before acknowledging) republishes the state of
// everything it touches, so live events are at least once across crashes.
package ingest
