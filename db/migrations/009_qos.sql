-- Attachment QoS (issue 8): {"egress": {"maxRate": kbit/s, "maxBurst": kbit}, "ingress": {...}}, either
-- direction optional; '{}' = no limit.
ALTER TABLE attachments ADD COLUMN qos TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(qos));
