package conversation

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// hashID hashes length-prefixed parts, so no choice of parts can collide with
// another split of the same bytes, and keeps 128 bits as hex.
func hashID(parts ...string) string {
	h := sha256.New()
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ConversationID is the id of the thread threadKey of kind on a channel.
// Channel ids are unique, the workspace is included so an id never matches
// across tenants even if a channel id were reused.
func ConversationID(workspaceID, channelID string, kind Kind, threadKey string) string {
	return hashID("conversation", workspaceID, channelID, string(kind), threadKey)
}

// MessageID is the id of the message a platform calls externalID on a channel.
func MessageID(channelID, externalID string) string {
	return hashID("message", channelID, externalID)
}

// IdentityID is the id of a platform user within a workspace.
func IdentityID(workspaceID, platform, userID string) string {
	return workspaceID + ":" + platform + ":" + userID
}
