package webhook

import "testing"

func TestParseMetaWhatsAppFixtures(t *testing.T) {
	wa := func(id, name string) Identity { return Identity{Platform: WhatsApp, UserID: id, Name: name} }
	testName := wa("972987654321", "Test Name")
	tests := []struct {
		file string
		want []Event
	}{
		{"whatsapp/message_text_signed_raw.json", []Event{{
			Platform: WhatsApp, AccountID: "277321005464405", Action: ActionMessage, Kind: KindDM,
			ExternalID: "wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA",
			ThreadKey:  "972544401243",
			Author:     wa("972544401243", "PyWa Tests"),
			Customer:   wa("972544401243", "PyWa Tests"),
			Text:       "Hey there! I am using PyWa.",
			Timestamp:  utc(2024, 10, 29, 19, 58, 23, 0),
			DedupeKey:  "whatsapp:277321005464405:message:wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA",
		}}},
		{"whatsapp/message_text.json", []Event{{
			Platform: WhatsApp, AccountID: "10634295353625", Action: ActionMessage, Kind: KindDM,
			ExternalID: "wamid.HBgNNDkxNTIwOTgzMzM5OBUCABIYHGDEHJVFHJEVCFHJEVBCMTkyODk1OEIyAA==",
			ThreadKey:  "491234567890",
			Author:     wa("491234567890", "TestUser"),
			Customer:   wa("491234567890", "TestUser"),
			Text:       "Test",
			Timestamp:  utc(2022, 5, 22, 21, 1, 53, 0),
			DedupeKey:  "whatsapp:10634295353625:message:wamid.HBgNNDkxNTIwOTgzMzM5OBUCABIYHGDEHJVFHJEVCFHJEVBCMTkyODk1OEIyAA==",
		}}},
		{"whatsapp/message_image.json", []Event{{
			Platform: WhatsApp, AccountID: "1122334455667", Action: ActionMessage, Kind: KindDM,
			ExternalID:  "wamid.xyzxyz",
			ThreadKey:   "972987654321",
			Author:      testName,
			Customer:    testName,
			Attachments: []Attachment{{Type: AttachmentImage, MimeType: "image/jpeg", MediaID: "65463453", SHA256: "4654+8g="}},
			Timestamp:   utc(2023, 10, 11, 16, 56, 19, 0),
			DedupeKey:   "whatsapp:1122334455667:message:wamid.xyzxyz",
		}}},
		// ExternalID is the message reacted to; the key uses the reaction's own id.
		{"whatsapp/message_reaction.json", []Event{{
			Platform: WhatsApp, AccountID: "1122334455667", Action: ActionReaction, Kind: KindDM,
			ExternalID: "wamid.yzxyzx=",
			ThreadKey:  "972987654321",
			Author:     testName,
			Customer:   testName,
			Reaction:   &Reaction{TargetID: "wamid.yzxyzx=", Emoji: "\U0001F62E"},
			Timestamp:  utc(2023, 10, 11, 17, 14, 16, 0),
			DedupeKey:  "whatsapp:1122334455667:reaction:wamid.xyzxyz",
		}}},
		{"whatsapp/status_sent.json", []Event{{
			Platform: WhatsApp, AccountID: "1122334455667", Action: ActionStatus, Kind: KindDM,
			ExternalID: "wamid.xyzxyz",
			ThreadKey:  "972987654321",
			Customer:   testName,
			Status:     &Status{State: StatusSent, RecipientID: "972987654321"},
			Timestamp:  utc(2023, 10, 25, 20, 49, 5, 0),
			DedupeKey:  "whatsapp:1122334455667:status:wamid.xyzxyz:sent",
		}}},
		{"whatsapp/status_read.json", []Event{{
			Platform: WhatsApp, AccountID: "1122334455667", Action: ActionStatus, Kind: KindDM,
			ExternalID: "wamid.xyzxyz",
			ThreadKey:  "972987654321",
			Customer:   testName,
			Status:     &Status{State: StatusRead, RecipientID: "972987654321"},
			Timestamp:  utc(2023, 7, 15, 0, 20, 58, 0),
			DedupeKey:  "whatsapp:1122334455667:status:wamid.xyzxyz:read",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseMeta(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, tt.want)
			checkInvariants(t, got, WhatsApp)
		})
	}
}

func TestParseMetaWhatsAppEdgeCases(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"PN1"},
		"contacts":[{"profile":{"name":"Kim"},"wa_id":"4915100000001"}],
		"messages":[
			{"from":"4915100000001","id":"wamid.reply","timestamp":"1700000000","type":"text","text":{"body":"yes please"},
			 "context":{"from":"15550000000","id":"wamid.offer"}},
			{"from":"4915100000001","id":"wamid.loc","timestamp":"1700000001","type":"location",
			 "location":{"latitude":52.52,"longitude":13.405,"name":"Office","address":"Main St 1"}},
			{"from":"4915100000001","id":"wamid.btn","timestamp":"1700000002","type":"interactive",
			 "interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}},
			{"from":"4915100000001","id":"wamid.doc","timestamp":"1700000003","type":"document",
			 "document":{"caption":"invoice","filename":"inv.pdf","mime_type":"application/pdf","sha256":"abc","id":"MEDIA9"}},
			{"from":"4915100000001","id":"wamid.contacts","timestamp":"1700000004","type":"contacts","contacts":[{"name":{"formatted_name":"X"}}]},
			{"from":"4915100000001","id":"wamid.unreact","timestamp":"1700000005","type":"reaction","reaction":{"message_id":"wamid.offer"}}
		],
		"statuses":[{"id":"wamid.offer","status":"failed","timestamp":"1700000006","recipient_id":"4915100000001",
			"errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",
				"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]}]
	}}]}]}`
	got, err := ParseMeta([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	kim := Identity{Platform: WhatsApp, UserID: "4915100000001", Name: "Kim"}
	base := Event{Platform: WhatsApp, AccountID: "PN1", Action: ActionMessage, Kind: KindDM, ThreadKey: "4915100000001", Author: kim, Customer: kim}
	reply, loc, btn, doc, contacts, unreact := base, base, base, base, base, base
	reply.ExternalID, reply.Text, reply.ReplyTo = "wamid.reply", "yes please", "wamid.offer"
	reply.Timestamp, reply.DedupeKey = utc(2023, 11, 14, 22, 13, 20, 0), "whatsapp:PN1:message:wamid.reply"
	loc.ExternalID, loc.Text = "wamid.loc", "Office, Main St 1"
	loc.Attachments = []Attachment{{Type: AttachmentLocation, URL: "geo:52.52,13.405", Name: "Office"}}
	loc.Timestamp, loc.DedupeKey = utc(2023, 11, 14, 22, 13, 21, 0), "whatsapp:PN1:message:wamid.loc"
	btn.ExternalID, btn.Text = "wamid.btn", "Yes"
	btn.Timestamp, btn.DedupeKey = utc(2023, 11, 14, 22, 13, 22, 0), "whatsapp:PN1:message:wamid.btn"
	doc.ExternalID, doc.Text = "wamid.doc", "invoice"
	doc.Attachments = []Attachment{{Type: AttachmentFile, MimeType: "application/pdf", MediaID: "MEDIA9", SHA256: "abc", Name: "inv.pdf"}}
	doc.Timestamp, doc.DedupeKey = utc(2023, 11, 14, 22, 13, 23, 0), "whatsapp:PN1:message:wamid.doc"
	contacts.ExternalID = "wamid.contacts"
	contacts.Attachments = []Attachment{{Type: "contacts"}}
	contacts.Timestamp, contacts.DedupeKey = utc(2023, 11, 14, 22, 13, 24, 0), "whatsapp:PN1:message:wamid.contacts"
	unreact.Action, unreact.ExternalID = ActionReaction, "wamid.offer"
	unreact.Reaction = &Reaction{TargetID: "wamid.offer", Removed: true}
	unreact.Timestamp, unreact.DedupeKey = utc(2023, 11, 14, 22, 13, 25, 0), "whatsapp:PN1:reaction:wamid.unreact"
	failed := Event{
		Platform: WhatsApp, AccountID: "PN1", Action: ActionStatus, Kind: KindDM, ExternalID: "wamid.offer",
		ThreadKey: "4915100000001", Customer: kim,
		Status: &Status{
			State: StatusFailed, ErrorCode: "131047", RecipientID: "4915100000001",
			ErrorMessage: "Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
		},
		Timestamp: utc(2023, 11, 14, 22, 13, 26, 0), DedupeKey: "whatsapp:PN1:status:wamid.offer:failed",
	}
	assertEvents(t, got, []Event{reply, loc, btn, doc, contacts, unreact, failed})
	checkInvariants(t, got, WhatsApp)
}
