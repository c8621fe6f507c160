package workflowdb

import (
	"context"
	"fmt"
	"time"

	"github.com/communityinbox/inbox/workflow"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type dbAgent struct {
	ID          string    `bson:"_id"`
	WorkspaceID string    `bson:"workspace_id"`
	UserID      string    `bson:"user_id"`
	Name        string    `bson:"name,omitempty"`
	Email       string    `bson:"email,omitempty"`
	SeenAt      time.Time `bson:"seen_at"`
}

// TouchAgent upserts an agent of the workspace as last seen on a request.
func (s *Store) TouchAgent(ctx context.Context, workspaceID string, a workflow.Agent, at time.Time) error {
	_, err := s.agents.UpdateOne(ctx, bson.D{{Key: "_id", Value: workspaceID + ":" + a.UserID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "workspace_id", Value: workspaceID}, {Key: "user_id", Value: a.UserID},
			{Key: "name", Value: a.Name}, {Key: "email", Value: a.Email}, {Key: "seen_at", Value: at}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("touch agent: %w", err)
	}
	return nil
}

// Agents returns the agents seen in a workspace.
func (s *Store) Agents(ctx context.Context, workspaceID string) ([]workflow.Agent, error) {
	cur, err := s.agents.Find(ctx, bson.D{{Key: "workspace_id", Value: workspaceID}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	var docs []dbAgent
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	out := make([]workflow.Agent, len(docs))
	for i, d := range docs {
		out[i] = workflow.Agent{UserID: d.UserID, Name: d.Name, Email: d.Email}
	}
	return out, nil
}

type dbLabel struct {
	ID          string    `bson:"_id"`
	WorkspaceID string    `bson:"workspace_id"`
	Name        string    `bson:"name"`
	Color       string    `bson:"color,omitempty"`
	CreatedAt   time.Time `bson:"created_at"`
}

// Labels returns a workspace's labels by name.
func (s *Store) Labels(ctx context.Context, workspaceID string) ([]workflow.Label, error) {
	cur, err := s.labels.Find(ctx, bson.D{{Key: "workspace_id", Value: workspaceID}}, options.Find().SetSort(bson.D{{Key: "name", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	var docs []dbLabel
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	out := make([]workflow.Label, len(docs))
	for i, d := range docs {
		out[i] = workflow.Label{Name: d.Name, Color: d.Color, CreatedAt: d.CreatedAt.UTC()}
	}
	return out, nil
}

// CreateLabel stores a label; its name is its key within the workspace.
func (s *Store) CreateLabel(ctx context.Context, workspaceID string, l workflow.Label) error {
	_, err := s.labels.InsertOne(ctx, dbLabel{ID: workspaceID + ":" + l.Name, WorkspaceID: workspaceID, Name: l.Name,
		Color: l.Color, CreatedAt: l.CreatedAt})
	if mongox.IsDuplicate(err) {
		return apperr.Conflict("label %q exists", l.Name)
	}
	if err != nil {
		return fmt.Errorf("create label: %w", err)
	}
	return nil
}

// DeleteLabel removes a label from the workspace's list (conversations keep it until unlabelled).
func (s *Store) DeleteLabel(ctx context.Context, workspaceID, name string) error {
	res, err := s.labels.DeleteOne(ctx, bson.D{{Key: "_id", Value: workspaceID + ":" + name}, {Key: "workspace_id", Value: workspaceID}})
	if err != nil {
		return fmt.Errorf("delete label: %w", err)
	}
	if res.DeletedCount == 0 {
		return apperr.NotFound("label")
	}
	return nil
}

type dbCanned struct {
	ID          string    `bson:"_id"`
	WorkspaceID string    `bson:"workspace_id"`
	Shortcut    string    `bson:"shortcut"`
	Title       string    `bson:"title"`
	Text        string    `bson:"text"`
	CreatedBy   string    `bson:"created_by,omitempty"`
	CreatedAt   time.Time `bson:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

func toBusCanned(d dbCanned) workflow.CannedResponse {
	return workflow.CannedResponse{ID: d.ID, Shortcut: d.Shortcut, Title: d.Title, Text: d.Text,
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// CannedResponses returns a workspace's canned responses by shortcut.
func (s *Store) CannedResponses(ctx context.Context, workspaceID string) ([]workflow.CannedResponse, error) {
	cur, err := s.canned.Find(ctx, bson.D{{Key: "workspace_id", Value: workspaceID}}, options.Find().SetSort(bson.D{{Key: "shortcut", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("canned responses: %w", err)
	}
	var docs []dbCanned
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("canned responses: %w", err)
	}
	out := make([]workflow.CannedResponse, len(docs))
	for i, d := range docs {
		out[i] = toBusCanned(d)
	}
	return out, nil
}

// CannedResponse returns one canned response.
func (s *Store) CannedResponse(ctx context.Context, workspaceID, id string) (workflow.CannedResponse, error) {
	var d dbCanned
	if err := s.canned.FindOne(ctx, wsID(workspaceID, id)).Decode(&d); err != nil {
		return workflow.CannedResponse{}, mongox.Translate(err, "canned response", "canned response")
	}
	return toBusCanned(d), nil
}

// SaveCannedResponse inserts (create) or replaces the editable fields of a canned response.
func (s *Store) SaveCannedResponse(ctx context.Context, workspaceID string, r workflow.CannedResponse, create bool) error {
	var err error
	if create {
		_, err = s.canned.InsertOne(ctx, dbCanned{ID: r.ID, WorkspaceID: workspaceID, Shortcut: r.Shortcut, Title: r.Title,
			Text: r.Text, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	} else {
		r2, e := s.canned.UpdateOne(ctx, wsID(workspaceID, r.ID), bson.D{{Key: "$set", Value: bson.D{
			{Key: "shortcut", Value: r.Shortcut}, {Key: "title", Value: r.Title}, {Key: "text", Value: r.Text},
			{Key: "updated_at", Value: r.UpdatedAt}}}})
		err = e
		if e == nil && r2.MatchedCount == 0 {
			return apperr.NotFound("canned response")
		}
	}
	if mongox.IsDuplicate(err) {
		return apperr.Conflict("shortcut %q is taken", r.Shortcut)
	}
	if err != nil {
		return fmt.Errorf("save canned response: %w", err)
	}
	return nil
}

// DeleteCannedResponse removes a canned response.
func (s *Store) DeleteCannedResponse(ctx context.Context, workspaceID, id string) error {
	res, err := s.canned.DeleteOne(ctx, wsID(workspaceID, id))
	if err != nil {
		return fmt.Errorf("delete canned response: %w", err)
	}
	if res.DeletedCount == 0 {
		return apperr.NotFound("canned response")
	}
	return nil
}

type dbAudit struct {
	ID             string            `bson:"_id"`
	WorkspaceID    string            `bson:"workspace_id"`
	ConversationID string            `bson:"conversation_id"`
	ActorID        string            `bson:"actor_id"`
	ActorName      string            `bson:"actor_name,omitempty"`
	Action         string            `bson:"action"`
	Detail         map[string]string `bson:"detail,omitempty"`
	At             time.Time         `bson:"at"`
}

// AddAudit appends an entry to the audit trail.
func (s *Store) AddAudit(ctx context.Context, workspaceID string, e workflow.AuditEntry) error {
	_, err := s.audit.InsertOne(ctx, dbAudit{ID: e.ID, WorkspaceID: workspaceID, ConversationID: e.ConversationID,
		ActorID: e.ActorID, ActorName: e.ActorName, Action: e.Action, Detail: e.Detail, At: e.At})
	if err != nil {
		return fmt.Errorf("add audit: %w", err)
	}
	return nil
}

// Audit returns a conversation's audit trail, oldest first.
func (s *Store) Audit(ctx context.Context, workspaceID, conversationID string) ([]workflow.AuditEntry, error) {
	cur, err := s.audit.Find(ctx, bson.D{{Key: "workspace_id", Value: workspaceID}, {Key: "conversation_id", Value: conversationID}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var docs []dbAudit
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	out := make([]workflow.AuditEntry, len(docs))
	for i, d := range docs {
		out[i] = workflow.AuditEntry{ID: d.ID, ConversationID: d.ConversationID, ActorID: d.ActorID, ActorName: d.ActorName,
			Action: d.Action, Detail: d.Detail, At: d.At.UTC()}
	}
	return out, nil
}
