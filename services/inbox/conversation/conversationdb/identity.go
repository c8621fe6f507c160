package conversationdb

import (
	"context"
	"fmt"
	"time"

	"github.com/communityinbox/inbox/conversation"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// lastSeenResolution is how stale last_seen_at may get: refreshing it on every
// message would cost a write per message for no reader that needs it exact.
const lastSeenResolution = time.Hour

// SeeIdentities records authors: the first sighting creates the identity
// (remembering token, so exactly one writer learns it is new, and the message
// it was first seen in), later ones refresh the handle and name when they
// changed and last_seen_at hourly.
//
// Round trips: one read, one insert for new identities, and updates (in
// commands of at most MaxUpdatesPerCommand) only for changed ones.
func (s *Store) SeeIdentities(ctx context.Context, token string, sightings []conversation.Sighting) ([]conversation.IdentityState, error) {
	if len(sightings) == 0 {
		return nil, nil
	}
	// Merge repeated sightings: the latest non-empty handle and name win.
	merged := map[string]*dbIdentityRecord{}
	var ids []string
	for _, si := range sightings {
		id := conversation.IdentityID(si.WorkspaceID, si.Platform, si.UserID)
		m := merged[id]
		if m == nil {
			m = &dbIdentityRecord{ID: id, WorkspaceID: si.WorkspaceID, Platform: si.Platform, UserID: si.UserID,
				ChannelID: si.ChannelID, ConversationID: si.ConversationID, FirstMessageID: si.MessageID,
				FirstSeenAt: si.At, LastSeenAt: si.At, FirstToken: token}
			merged[id] = m
			ids = append(ids, id)
		}
		if si.Handle != "" {
			m.Handle = si.Handle
		}
		if si.Name != "" {
			m.Name = si.Name
		}
		if si.At.Before(m.FirstSeenAt) {
			m.FirstSeenAt = si.At
		}
		m.LastSeenAt = maxTime(m.LastSeenAt, si.At)
	}
	existing, err := s.loadIdentities(ctx, ids)
	if err != nil {
		return nil, err
	}
	var fresh []dbIdentityRecord
	for _, id := range ids {
		if _, ok := existing[id]; !ok {
			fresh = append(fresh, *merged[id])
		}
	}
	dups, err := insertNew(ctx, s.identities, fresh)
	if err != nil {
		return nil, fmt.Errorf("see identities: %w", err)
	}
	out := make([]conversation.IdentityState, 0, len(ids))
	var models []mongo.WriteModel
	for i, f := range fresh {
		if !dups[i] {
			out = append(out, toBusIdentityRecord(f, token))
			continue
		}
		// Created concurrently: treat as existing, with nothing known about it.
		existing[f.ID] = dbIdentityRecord{ID: f.ID, WorkspaceID: f.WorkspaceID, Platform: f.Platform, UserID: f.UserID}
	}
	for _, id := range ids {
		cur, ok := existing[id]
		if !ok {
			continue
		}
		m := merged[id]
		set := bson.D{}
		if m.Handle != "" && m.Handle != cur.Handle {
			set = append(set, bson.E{Key: "handle", Value: m.Handle})
			cur.Handle = m.Handle
		}
		if m.Name != "" && m.Name != cur.Name {
			set = append(set, bson.E{Key: "name", Value: m.Name})
			cur.Name = m.Name
		}
		upd := bson.D{}
		if len(set) > 0 {
			upd = append(upd, bson.E{Key: "$set", Value: set})
		}
		if m.LastSeenAt.Sub(cur.LastSeenAt) > lastSeenResolution || len(set) > 0 {
			upd = append(upd, bson.E{Key: "$max", Value: bson.D{{Key: "last_seen_at", Value: m.LastSeenAt}}})
			cur.LastSeenAt = maxTime(cur.LastSeenAt, m.LastSeenAt)
		}
		if len(upd) > 0 {
			models = append(models, update(bson.D{{Key: "_id", Value: id}}, upd))
		}
		out = append(out, toBusIdentityRecord(cur, token))
	}
	if err := s.bulk(ctx, s.identities, models); err != nil {
		return nil, fmt.Errorf("see identities: %w", err)
	}
	return out, nil
}

func (s *Store) loadIdentities(ctx context.Context, ids []string) (map[string]dbIdentityRecord, error) {
	return loadByID(ctx, s, s.identities, ids, func(d dbIdentityRecord) string { return d.ID })
}
