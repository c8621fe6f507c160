package conversationdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"github.com/communityinbox/shared/mongotest"
)

func TestMain(m *testing.M) { mongotest.Main(m) }

func newStore(t *testing.T, single bool) *Store {
	t.Helper()
	s, err := New(context.Background(), mongotest.DB(t), Options{SingleWriter: single})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// forModes runs f against a store in each write mode: guarded updates (any
// number of concurrent writers, MongoDB) and single writer (FerretDB).
func forModes(t *testing.T, f func(t *testing.T, s *Store)) {
	for _, m := range []struct {
		name   string
		single bool
	}{{"guarded", false}, {"single-writer", true}} {
		t.Run(m.name, func(t *testing.T) { f(t, newStore(t, m.single)) })
	}
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// base returns a change on message ext of channel ch.
func base(ch, ext string, a conversation.Action, key string, sec int) conversation.Change {
	return conversation.Change{
		Key: key, Action: a, MessageID: conversation.MessageID(ch, ext), WorkspaceID: "w1", ChannelID: ch,
		Platform: "facebook", Kind: conversation.KindDM, ExternalID: ext, At: at(sec), ReceivedAt: at(sec + 1),
	}
}

func create(ch, ext, text string, sec int, dir conversation.Direction) conversation.Change {
	c := base(ch, ext, conversation.ActionCreate, "create:"+ext, sec)
	c.Text, c.Direction = text, dir
	c.ConversationID = conversation.ConversationID("w1", ch, conversation.KindDM, "cust")
	c.Author = conversation.Identity{Platform: "facebook", UserID: "cust", Name: "Customer"}
	c.Attachments = []conversation.Attachment{{Type: "image", URL: "https://x/1.png"}}
	return c
}

func edit(ch, ext, text string, sec int) conversation.Change {
	c := base(ch, ext, conversation.ActionEdit, fmt.Sprintf("edit:%s:%d", ext, sec), sec)
	c.Text = text
	return c
}

func react(ch, ext, user, emoji string, sec int) conversation.Change {
	c := base(ch, ext, conversation.ActionReact, fmt.Sprintf("react:%s:%s:%d", ext, user, sec), sec)
	c.Reaction = &conversation.Reaction{UserID: user, Emoji: emoji}
	return c
}

func status(ch, ext string, st conversation.DeliveryState, sec int) conversation.Change {
	c := base(ch, ext, conversation.ActionStatus, fmt.Sprintf("status:%s:%s", ext, st), sec)
	c.ConversationID = conversation.ConversationID("w1", ch, conversation.KindDM, "cust")
	c.Delivery = &conversation.Delivery{State: st}
	if st == conversation.DeliveryFailed {
		c.Delivery.ErrorCode, c.Delivery.ErrorMessage = "131047", "Re-engagement message"
	}
	return c
}

func apply(t *testing.T, s *Store, token string, cs ...conversation.Change) conversation.Applied {
	t.Helper()
	res, err := s.ApplyChanges(context.Background(), token, cs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestApplyRecordsEachEventOnce(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		c := create("ch1", "m1", "hello", 0, conversation.DirectionIn)
		r1 := apply(t, s, "A", c)
		r2 := apply(t, s, "B", c)
		if r1.Outcomes[0] != conversation.Mine || r2.Outcomes[0] != conversation.Earlier {
			t.Fatalf("outcomes %v then %v, want Mine then Earlier", r1.Outcomes, r2.Outcomes)
		}
		m, err := s.Message(context.Background(), "w1", c.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Text != "hello" || m.Placeholder || m.Direction != conversation.DirectionIn || m.Author.UserID != "cust" ||
			len(m.Attachments) != 1 || m.Attachments[0].URL != "https://x/1.png" || !m.PlatformTime.Equal(at(0)) ||
			!m.ReceivedAt.Equal(at(1)) || m.ConversationID != c.ConversationID {
			t.Fatalf("message %+v", m)
		}
		// Within one batch a repeated event is reported as Earlier, not twice Mine.
		e := edit("ch1", "m1", "hello!", 5)
		r3 := apply(t, s, "C", e, e)
		if r3.Outcomes[0] != conversation.Mine || r3.Outcomes[1] != conversation.Earlier {
			t.Fatalf("in-batch duplicate outcomes %v", r3.Outcomes)
		}
		m, _ = s.Message(context.Background(), "w1", c.MessageID)
		if len(m.Edits) != 1 || m.Text != "hello!" {
			t.Fatalf("edits %+v text %q", m.Edits, m.Text)
		}
		// A foreign workspace does not see it.
		if _, err := s.Message(context.Background(), "w2", c.MessageID); err == nil {
			t.Fatal("message visible from another workspace")
		}
	})
}

// TestMergeIsOrderIndependent applies the same events in many orders, with
// redeliveries sprinkled in and batches of random size, and checks the final
// state is the same each time.
func TestMergeIsOrderIndependent(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		events := func(ch string) []conversation.Change {
			return []conversation.Change{
				create(ch, "m", "original", 10, conversation.DirectionIn),
				edit(ch, "m", "second", 20),
				edit(ch, "m", "third", 30),
				hideUnhide(ch, "m", conversation.ActionHide, 40),
				hideUnhide(ch, "m", conversation.ActionUnhide, 50),
				hideUnhide(ch, "m", conversation.ActionHide, 60),
				react(ch, "m", "u1", "👍", 20),
				react(ch, "m", "u1", "", 25), // u1 removes it
				react(ch, "m", "u2", "❤", 30),
				react(ch, "m", "u2", "😮", 35), // u2 changes it
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for run := range 24 {
			ch := fmt.Sprintf("perm%d", run)
			evs := events(ch)
			rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			// Redeliver a few.
			for range 3 {
				evs = append(evs, evs[rng.IntN(len(evs))])
			}
			for i := 0; i < len(evs); {
				n := 1 + rng.IntN(3)
				if i+n > len(evs) {
					n = len(evs) - i
				}
				apply(t, s, fmt.Sprintf("tok%d-%d", run, i), evs[i:i+n]...)
				i += n
			}
			m, err := s.Message(context.Background(), "w1", conversation.MessageID(ch, "m"))
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != "third" || !m.TextAt.Equal(at(30)) || len(m.Edits) != 2 || m.Placeholder {
				t.Fatalf("run %d: text %q at %v edits %d placeholder %v", run, m.Text, m.TextAt, len(m.Edits), m.Placeholder)
			}
			if m.Tombstone == nil || m.Tombstone.State != conversation.TombstoneHidden || !m.Tombstone.At.Equal(at(60)) {
				t.Fatalf("run %d: tombstone %+v", run, m.Tombstone)
			}
			if len(m.Reactions) != 1 || m.Reactions[0].UserID != "u2" || m.Reactions[0].Emoji != "😮" {
				t.Fatalf("run %d: reactions %+v", run, m.Reactions)
			}
			if m.Author.Name != "Customer" || m.PlatformTime.IsZero() {
				t.Fatalf("run %d: original fields lost: %+v", run, m)
			}
		}
	})
}

func hideUnhide(ch, ext string, a conversation.Action, sec int) conversation.Change {
	return base(ch, ext, a, fmt.Sprintf("%s:%s:%d", a, ext, sec), sec)
}

func TestDeleteIsFinalAndKeepsText(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		del := base("ch", "m", conversation.ActionDelete, "delete:m", 30)
		// Delete and hide arrive before the original.
		apply(t, s, "A", del, hideUnhide("ch", "m", conversation.ActionUnhide, 40))
		m, _ := s.Message(context.Background(), "w1", del.MessageID)
		if !m.Placeholder || m.Tombstone == nil || m.Tombstone.State != conversation.TombstoneDeleted {
			t.Fatalf("placeholder %+v", m)
		}
		apply(t, s, "B", create("ch", "m", "rude words", 10, conversation.DirectionIn))
		m, _ = s.Message(context.Background(), "w1", del.MessageID)
		if m.Placeholder || m.Text != "rude words" || m.Tombstone == nil || m.Tombstone.State != conversation.TombstoneDeleted || !m.Tombstone.At.Equal(at(30)) {
			t.Fatalf("after original: %+v tomb %+v", m, m.Tombstone)
		}
	})
}

func TestDeliveryNeverGoesBackwards(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		orders := [][]conversation.DeliveryState{
			{conversation.DeliverySent, conversation.DeliveryDelivered, conversation.DeliveryRead},
			{conversation.DeliveryRead, conversation.DeliverySent, conversation.DeliveryDelivered},
			{conversation.DeliveryDelivered, conversation.DeliveryRead, conversation.DeliverySent},
		}
		for i, order := range orders {
			ext := fmt.Sprintf("wamid.%d", i)
			for j, st := range order {
				apply(t, s, fmt.Sprintf("t%d%d", i, j), status("ch", ext, st, 10+j))
			}
			m, _ := s.Message(context.Background(), "w1", conversation.MessageID("ch", ext))
			if m.Delivery == nil || m.Delivery.State != conversation.DeliveryRead {
				t.Fatalf("order %v: delivery %+v", order, m.Delivery)
			}
			if !m.Placeholder || m.Direction != conversation.DirectionOut {
				t.Fatalf("status-only message should be an outbound placeholder: %+v", m)
			}
		}
		// Failed after sent sticks and records the error; delivered after failed wins but keeps it.
		apply(t, s, "x1", status("ch", "f", conversation.DeliveryFailed, 20))
		apply(t, s, "x2", status("ch", "f", conversation.DeliverySent, 10))
		m, _ := s.Message(context.Background(), "w1", conversation.MessageID("ch", "f"))
		if m.Delivery.State != conversation.DeliveryFailed || m.Delivery.ErrorCode != "131047" || m.Delivery.ErrorMessage == "" {
			t.Fatalf("failed: %+v", m.Delivery)
		}
		// The outbound original arriving later (an echo) keeps the advanced state.
		out := create("ch", "f", "our reply", 5, conversation.DirectionOut)
		out.Echo = true
		apply(t, s, "x3", out)
		m, _ = s.Message(context.Background(), "w1", conversation.MessageID("ch", "f"))
		if m.Delivery.State != conversation.DeliveryFailed || m.Placeholder || m.Text != "our reply" {
			t.Fatalf("after echo: %+v %+v", m, m.Delivery)
		}
	})
}

func count(ch, ext string, dir conversation.Direction, sec int) conversation.Count {
	return conversation.Count{MessageID: conversation.MessageID(ch, ext), Direction: dir, At: at(sec), Thread: conversation.Thread{
		ID: conversation.ConversationID("w1", ch, conversation.KindDM, "cust"), WorkspaceID: "w1", ChannelID: ch,
		Platform: "facebook", Kind: conversation.KindDM, ThreadKey: "cust",
		Customer: conversation.Identity{Platform: "facebook", UserID: "cust", Name: "Customer"},
	}}
}

func TestCountsEachMessageOnce(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c1 := count("ch", "m1", conversation.DirectionIn, 10)
		r, err := s.AddToConversations(ctx, "A", []conversation.Count{c1})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.AddToConversations(ctx, "B", []conversation.Count{c1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcomes[0] != conversation.Mine || r2.Outcomes[0] != conversation.Earlier {
			t.Fatalf("outcomes %v %v", r.Outcomes, r2.Outcomes)
		}
		cv := r2.Conversations[c1.Thread.ID].Conversation
		if cv.MessageCount != 1 || cv.IncomingCount != 1 || cv.Status != conversation.StatusOpen || !cv.WaitingSince.Equal(at(10)) ||
			cv.Customer.Name != "Customer" || cv.Kind != conversation.KindDM || cv.ThreadKey != "cust" {
			t.Fatalf("conversation %+v", cv)
		}
	})
}

func TestWaitingSinceIsOrderIndependent(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		// Customer writes at 10 and 30, we answer at 20: waiting since 30, whatever the order.
		orders := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
		for i, order := range orders {
			ch := fmt.Sprintf("ch%d", i)
			all := []conversation.Count{count(ch, "in1", conversation.DirectionIn, 10), count(ch, "out", conversation.DirectionOut, 20), count(ch, "in2", conversation.DirectionIn, 30)}
			// The repair looks the first unanswered incoming message up, so the messages must exist.
			for _, c := range all {
				dir := c.Direction
				apply(t, s, "t", create(ch, map[string]string{all[0].MessageID: "in1", all[1].MessageID: "out", all[2].MessageID: "in2"}[c.MessageID], "x", int(c.At.Sub(t0)/time.Second), dir))
			}
			var last conversation.Counted
			for j, k := range order {
				var err error
				last, err = s.AddToConversations(ctx, fmt.Sprintf("t%d", j), []conversation.Count{all[k]})
				if err != nil {
					t.Fatal(err)
				}
			}
			cv := last.Conversations[all[0].Thread.ID].Conversation
			if !cv.WaitingSince.Equal(at(30)) || cv.MessageCount != 3 || cv.IncomingCount != 2 || cv.OutgoingCount != 1 ||
				!cv.LastMessageAt.Equal(at(30)) || !cv.LastOutgoingAt.Equal(at(20)) {
				t.Fatalf("order %v: %+v", order, cv)
			}
		}
	})
}

func TestConcurrentWritersConverge(t *testing.T) {
	// Concurrent writers: the guarded mode only.
	s := newStore(t, false)
	var batch []conversation.Change
	for i := range 30 {
		batch = append(batch, create("cc", fmt.Sprintf("m%d", i%10), fmt.Sprintf("t%d", i%10), i%10, conversation.DirectionIn))
		batch = append(batch, edit("cc", fmt.Sprintf("m%d", i%10), "edited", 100+i%10))
	}
	const writers = 4
	results := make([]conversation.Applied, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.ApplyChanges(context.Background(), fmt.Sprintf("w%d", w), batch)
			if err != nil {
				t.Error(err)
				return
			}
			results[w] = r
		}()
	}
	wg.Wait()
	mine := map[string]int{}
	for _, r := range results {
		for i, o := range r.Outcomes {
			if o == conversation.Mine {
				mine[batch[i].Key]++
			}
		}
	}
	if len(mine) != 20 {
		t.Fatalf("%d distinct events applied, want 20", len(mine))
	}
	for k, n := range mine {
		if n != 1 {
			t.Fatalf("event %s applied %d times", k, n)
		}
	}
	for i := range 10 {
		m, err := s.Message(context.Background(), "w1", conversation.MessageID("cc", fmt.Sprintf("m%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if m.Text != "edited" || len(m.Edits) != 1 {
			t.Fatalf("m%d: %q edits %d", i, m.Text, len(m.Edits))
		}
	}
}

func TestIdentitiesAreNewOnce(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		si := conversation.Sighting{Identity: conversation.Identity{Platform: "x", UserID: "42", Handle: "bob"}, WorkspaceID: "w1", ChannelID: "c", ConversationID: "v", MessageID: "m1", At: at(0)}
		a, err := s.SeeIdentities(ctx, "A", []conversation.Sighting{si, si})
		if err != nil || len(a) != 1 || !a[0].New || a[0].FirstMessageID != "m1" {
			t.Fatalf("first sighting %+v %v", a, err)
		}
		si.Name, si.At, si.MessageID = "Bob", at(60), "m2"
		b, err := s.SeeIdentities(ctx, "B", []conversation.Sighting{si})
		if err != nil || len(b) != 1 || b[0].New {
			t.Fatalf("second sighting %+v %v", b, err)
		}
		if b[0].Name != "Bob" || b[0].Handle != "bob" || !b[0].FirstSeenAt.Equal(at(0)) || !b[0].LastSeenAt.Equal(at(60)) ||
			b[0].ID != "w1:x:42" || b[0].FirstMessageID != "m1" {
			t.Fatalf("record %+v", b[0])
		}
		stored, err := s.Identity(ctx, "w1:x:42")
		if err != nil || stored.Name != "Bob" || !stored.LastSeenAt.Equal(at(60)) {
			t.Fatalf("stored %+v %v", stored, err)
		}
	})
}

func TestCountingRecordsArePruned(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c1 := count("pr", "m1", conversation.DirectionIn, 10)
		if _, err := s.AddToConversations(ctx, "A", []conversation.Count{c1}); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return time.Now().UTC().Add(PruneAfter + time.Minute) })
		r, err := s.AddToConversations(ctx, "B", []conversation.Count{count("pr", "m2", conversation.DirectionIn, 20)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcomes[0] != conversation.Mine {
			t.Fatal("second message not counted")
		}
		var d dbConversation
		if err := s.conversations.FindOne(ctx, map[string]string{"_id": c1.Thread.ID}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		if _, ok := indexCounts(&d).countedBy(c1.MessageID); ok {
			t.Fatalf("stale record kept: %+v %+v", d.Inflight, d.Counting)
		}
		if d.MessageCount != 2 {
			t.Fatalf("message_count %d", d.MessageCount)
		}
	})
}

// TestInsertAndUpdatePathsAgree applies the same events to a message the batch
// creates (built in memory and inserted) and to one that exists (guarded
// updates), and requires the same result.
func TestInsertAndUpdatePathsAgree(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, 8))
		for run := range 12 {
			a, b := fmt.Sprintf("ins%d", run), fmt.Sprintf("upd%d", run)
			mk := func(ch string) []conversation.Change {
				out := []conversation.Change{
					create(ch, "m", "original", 10, conversation.DirectionOut),
					edit(ch, "m", "second", 20),
					edit(ch, "m", "same-time", 10),
					hideUnhide(ch, "m", conversation.ActionHide, 40),
					hideUnhide(ch, "m", conversation.ActionUnhide, 30),
					base(ch, "m", conversation.ActionDelete, "del", 50),
					react(ch, "m", "u1", "👍", 20),
					react(ch, "m", "u1", "", 15),
					status(ch, "m", conversation.DeliveryDelivered, 12),
					status(ch, "m", conversation.DeliveryFailed, 11),
					status(ch, "m", conversation.DeliverySent, 10),
				}
				return out
			}
			perm := rng.Perm(len(mk(a)))
			evA, evB := mk(a), mk(b)
			var ordA, ordB []conversation.Change
			for _, i := range perm {
				ordA, ordB = append(ordA, evA[i]), append(ordB, evB[i])
			}
			apply(t, s, "A", ordA...)
			apply(t, s, "B1", ordB[0])
			r := apply(t, s, "B2", ordB[1:]...)
			for i, o := range r.Outcomes {
				if o != conversation.Mine {
					t.Fatalf("run %d: update path outcome %d = %v", run, i, o)
				}
			}
			ma, _ := s.Message(ctx, "w1", conversation.MessageID(a, "m"))
			mb, _ := s.Message(ctx, "w1", conversation.MessageID(b, "m"))
			for _, m := range []*conversation.Message{&ma, &mb} {
				m.ID, m.ChannelID, m.ConversationID, m.CreatedAt, m.UpdatedAt = "", "", "", time.Time{}, time.Time{}
			}
			if !reflect.DeepEqual(ma, mb) {
				t.Fatalf("run %d (order %v):\ninsert path %+v\nupdate path %+v", run, perm, ma, mb)
			}
			if ma.Text != "second" || ma.Tombstone == nil || ma.Tombstone.State != conversation.TombstoneDeleted ||
				ma.Delivery == nil || ma.Delivery.State != conversation.DeliveryDelivered || ma.Delivery.ErrorCode != "131047" || len(ma.Reactions) != 1 {
				t.Fatalf("run %d: final state %+v delivery %+v", run, ma, ma.Delivery)
			}
		}
	})
}

// TestLargeBatchOfUpdates sends more guarded updates than FerretDB can take in
// one command; the store must split them.
func TestLargeBatchOfUpdates(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		var creates, edits []conversation.Change
		for i := range 150 {
			creates = append(creates, create("big", fmt.Sprintf("m%d", i), "x", i, conversation.DirectionIn))
			edits = append(edits, edit("big", fmt.Sprintf("m%d", i), "y", 1000+i))
		}
		apply(t, s, "A", creates...)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r, err := s.ApplyChanges(ctx, "B", edits)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range r.Outcomes {
			if o != conversation.Mine || r.Messages[edits[i].MessageID].Text != "y" {
				t.Fatalf("edit %d: %v %q", i, o, r.Messages[edits[i].MessageID].Text)
			}
		}
	})
}

func TestConcurrentCountingCountsOnce(t *testing.T) {
	// Concurrent writers: the guarded mode only.
	s := newStore(t, false)
	var counts []conversation.Count
	for i := range 20 {
		c := count(fmt.Sprintf("cc%d", i%5), fmt.Sprintf("m%d", i), conversation.DirectionIn, i)
		counts = append(counts, c)
	}
	const writers = 4
	results := make([]conversation.Counted, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.AddToConversations(context.Background(), fmt.Sprintf("w%d", w), counts)
			if err != nil {
				t.Error(err)
			}
			results[w] = r
		}()
	}
	wg.Wait()
	mine := map[string]int{}
	for _, r := range results {
		for i, o := range r.Outcomes {
			if o == conversation.Mine {
				mine[counts[i].MessageID]++
			}
		}
	}
	if len(mine) != 20 {
		t.Fatalf("%d messages counted by someone, want 20", len(mine))
	}
	for id, n := range mine {
		if n != 1 {
			t.Fatalf("message %s counted %d times", id, n)
		}
	}
	for i := range 5 {
		cv, err := s.Conversation(context.Background(), "w1", conversation.ConversationID("w1", fmt.Sprintf("cc%d", i), conversation.KindDM, "cust"))
		if err != nil {
			t.Fatal(err)
		}
		if cv.MessageCount != 4 || cv.IncomingCount != 4 || !cv.WaitingSince.Equal(at(i)) {
			t.Fatalf("conversation %d: count %d waiting %v", i, cv.MessageCount, cv.WaitingSince)
		}
	}
}

// TestSingleWriterKeepsOtherWritersFields: workflow fields written between
// counts (including fields this store does not model) survive.
func TestSingleWriterKeepsOtherWritersFields(t *testing.T) {
	s := newStore(t, true)
	ctx := context.Background()
	c1 := count("wf", "m1", conversation.DirectionIn, 10)
	if _, err := s.AddToConversations(ctx, "A", []conversation.Count{c1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.conversations.UpdateOne(ctx, map[string]string{"_id": c1.Thread.ID},
		map[string]any{"$set": map[string]any{"assignee_id": "agent-7", "sla_due": "tomorrow", "status": "resolved"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddToConversations(ctx, "B", []conversation.Count{count("wf", "m2", conversation.DirectionIn, 20)}); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := s.conversations.FindOne(ctx, map[string]string{"_id": c1.Thread.ID}).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d["assignee_id"] != "agent-7" || d["sla_due"] != "tomorrow" || d["status"] != "open" || fmt.Sprint(d["message_count"]) != "2" {
		t.Fatalf("conversation %v", d)
	}
}

// TestSettledRecordsAreDropped: a conversation keeps the counting records of
// batches that may still be redelivered and drops those of settled batches
// at its next count, so a busy conversation does not grow a record per
// message for PruneAfter.
func TestSettledRecordsAreDropped(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		c1 := count("st", "m1", conversation.DirectionIn, 10)
		c2 := count("st", "m2", conversation.DirectionIn, 20)
		c3 := count("st", "m3", conversation.DirectionIn, 30)
		for _, step := range []struct {
			token string
			c     conversation.Count
		}{{"A", c1}, {"B", c2}} {
			if _, err := s.AddToConversations(ctx, step.token, []conversation.Count{step.c}); err != nil {
				t.Fatal(err)
			}
		}
		s.Settle("A")
		r, err := s.AddToConversations(ctx, "C", []conversation.Count{c3})
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcomes[0] != conversation.Mine {
			t.Fatal("third message not counted")
		}
		var d dbConversation
		if err := s.conversations.FindOne(ctx, map[string]string{"_id": c1.Thread.ID}).Decode(&d); err != nil {
			t.Fatal(err)
		}
		ix := indexCounts(&d)
		if _, ok := ix.countedBy(c1.MessageID); ok {
			t.Fatalf("record of settled batch A kept: %+v %+v", d.Inflight, d.Counting)
		}
		for _, c := range []conversation.Count{c2, c3} {
			if _, ok := ix.countedBy(c.MessageID); !ok {
				t.Fatalf("record of unsettled %s dropped: %+v %+v", c.MessageID, d.Inflight, d.Counting)
			}
		}
		if s.single && (len(d.Inflight) != 0 || len(d.Counting) != 2) {
			// One compact record per unsettled batch, none per message.
			t.Fatalf("single writer's records: inflight %+v, counting %+v", d.Inflight, d.Counting)
		}
		if d.MessageCount != 3 || d.IncomingCount != 3 {
			t.Fatalf("counts %d/%d, want 3/3", d.MessageCount, d.IncomingCount)
		}
	})
}

// TestCreatedByIsTheCreatingDelivery: the delivery of a message's create
// event is recorded whether the create inserts the message or fills in the
// placeholder an earlier edit left, and later deliveries do not change it.
func TestCreatedByIsTheCreatingDelivery(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		fresh := create("cb", "x1", "hello", 10, conversation.DirectionIn)
		fresh.DeliveryID = "d-1"
		res := apply(t, s, "A", fresh)
		if got := res.Messages[fresh.MessageID].CreatedBy; got != "d-1" {
			t.Fatalf("inserted message created_by %q, want d-1", got)
		}

		e := edit("cb", "x2", "edited first", 30)
		e.DeliveryID = "d-2"
		apply(t, s, "B", e)
		late := create("cb", "x2", "original", 20, conversation.DirectionIn)
		late.DeliveryID = "d-3"
		res = apply(t, s, "C", late)
		if got := res.Messages[late.MessageID].CreatedBy; got != "d-3" {
			t.Fatalf("placeholder filled by create: created_by %q, want d-3", got)
		}

		again := fresh
		again.DeliveryID = "d-4"
		res = apply(t, s, "D", again)
		if res.Outcomes[0] != conversation.Earlier || res.Messages[fresh.MessageID].CreatedBy != "d-1" {
			t.Fatalf("retried create: outcome %v created_by %q", res.Outcomes[0], res.Messages[fresh.MessageID].CreatedBy)
		}
	})
}

// TestLastMessagePreviewIsTheNewest: whatever order the messages are counted
// in, one by one or in one batch, the conversation previews the newest; a
// redelivered older message does not take it back; edits of the newest
// message show, edits of others do not, and a delete empties it.
func TestLastMessagePreviewIsTheNewest(t *testing.T) {
	forModes(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		orders := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
		for i, order := range orders {
			for _, batched := range []bool{false, true} {
				ch := fmt.Sprintf("ch%d-%v", i, batched)
				all := []conversation.Count{count(ch, "in1", conversation.DirectionIn, 10),
					count(ch, "out", conversation.DirectionOut, 20), count(ch, "in2", conversation.DirectionIn, 30)}
				for k, text := range []string{"first", "our answer", "third"} {
					all[k].Preview = text
				}
				var last conversation.Counted
				var err error
				if batched {
					var cs []conversation.Count
					for _, k := range order {
						cs = append(cs, all[k])
					}
					last, err = s.AddToConversations(ctx, "batch", cs)
				} else {
					for j, k := range order {
						if last, err = s.AddToConversations(ctx, fmt.Sprintf("t%d", j), []conversation.Count{all[k]}); err != nil {
							break
						}
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				// A redelivery of the oldest message changes nothing.
				if last, err = s.AddToConversations(ctx, "again", []conversation.Count{all[0]}); err != nil {
					t.Fatal(err)
				}
				cv := last.Conversations[all[0].Thread.ID].Conversation
				if cv.LastMessageID != all[2].MessageID || cv.LastMessageText != "third" ||
					cv.LastMessageDirection != conversation.DirectionIn || cv.MessageCount != 3 {
					t.Fatalf("order %v batched %v: last message %q %q %q, count %d", order, batched,
						cv.LastMessageID, cv.LastMessageText, cv.LastMessageDirection, cv.MessageCount)
				}
			}
		}

		ch := "ch0-false"
		id := conversation.ConversationID("w1", ch, conversation.KindDM, "cust")
		msg := func(ext, text string, deleted bool) conversation.Message {
			m := conversation.Message{ID: conversation.MessageID(ch, ext), ConversationID: id, Text: text}
			if deleted {
				m.Tombstone = &conversation.Tombstone{State: conversation.TombstoneDeleted, At: at(40)}
			}
			return m
		}
		preview := func() string {
			docs, err := s.loadConversations(ctx, []string{id})
			if err != nil {
				t.Fatal(err)
			}
			return docs[id].LastMessageText
		}
		for _, step := range []struct {
			m    conversation.Message
			want string
		}{
			{msg("in1", "first, edited", false), "third"},
			{msg("in2", "third,\n  edited", false), "third, edited"},
			{msg("in2", "third, edited", true), ""},
		} {
			if err := s.RefreshLastMessages(ctx, []conversation.Message{step.m}); err != nil {
				t.Fatal(err)
			}
			if got := preview(); got != step.want {
				t.Fatalf("after revising %s: preview %q, want %q", step.m.ID, got, step.want)
			}
		}
	})
}

// TestRecordsOfTheOtherModeAreHonoured: a redelivery counted by a writer in
// the other mode (a deployment moving between FerretDB and MongoDB with
// batches in flight) finds the first count's record, whichever form it has,
// and counts nothing again.
func TestRecordsOfTheOtherModeAreHonoured(t *testing.T) {
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprintf("first single=%v", first), func(t *testing.T) {
			ctx := context.Background()
			db := mongotest.DB(t)
			a, err := New(ctx, db, Options{SingleWriter: first})
			if err != nil {
				t.Fatal(err)
			}
			b, err := New(ctx, db, Options{SingleWriter: !first})
			if err != nil {
				t.Fatal(err)
			}
			c1, c2 := count("om", "m1", conversation.DirectionIn, 10), count("om", "m2", conversation.DirectionIn, 20)
			// The conversation exists before, so both counts update it.
			if _, err := a.AddToConversations(ctx, "A0", []conversation.Count{count("om", "m0", conversation.DirectionIn, 5)}); err != nil {
				t.Fatal(err)
			}
			if r, err := a.AddToConversations(ctx, "A", []conversation.Count{c1}); err != nil || r.Outcomes[0] != conversation.Mine {
				t.Fatalf("first count %+v %v", r, err)
			}
			r, err := b.AddToConversations(ctx, "B", []conversation.Count{c1, c2})
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcomes[0] != conversation.Earlier || r.Outcomes[1] != conversation.Mine {
				t.Fatalf("outcomes %v, want [Earlier Mine]", r.Outcomes)
			}
			if cv := r.Conversations[c1.Thread.ID]; cv.MessageCount != 3 || cv.IncomingCount != 3 {
				t.Fatalf("counts %d/%d, want 3/3", cv.MessageCount, cv.IncomingCount)
			}
		})
	}
}

func TestCountingKeysOfManyMessagesStayApart(t *testing.T) {
	d := dbConversation{ID: "c"}
	ix := indexCounts(&d)
	const n = 5000
	for i := range n {
		if !addCount(&d, ix, true, "tok", count("ck", fmt.Sprint("m", i), conversation.DirectionIn, i), t0) {
			t.Fatalf("message %d looked counted already", i)
		}
	}
	if d.MessageCount != n || len(d.Counting) != 1 || len(d.Counting[countingField("tok")].IDs) != n*countingKeyLen {
		t.Fatalf("count %d, records %d", d.MessageCount, len(d.Counting))
	}
	again := indexCounts(&d)
	for i := range n {
		if by, ok := again.countedBy(conversation.MessageID("ck", fmt.Sprint("m", i))); !ok || by != "tok" {
			t.Fatalf("message %d: %q %v", i, by, ok)
		}
	}
	if addCount(&d, again, true, "other", count("ck", "m7", conversation.DirectionIn, 7), t0) || d.MessageCount != n {
		t.Fatal("a recorded message was counted twice")
	}
}
