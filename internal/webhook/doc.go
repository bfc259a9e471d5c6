// Package webhook delivers Registrar's change feed to the endpoints that
// clients register, signed the Standard Webhooks way
// (https://www.standardwebhooks.com).
//
// A delivery is an HTTP POST whose body is the feed event
// {"id","type","time","data"} (exactly what GET /v1/events serves), with:
//
//	webhook-id:        the event's id, the same on every retry (receivers
//	                   de-duplicate on it)
//	webhook-timestamp: the attempt's time, unix seconds
//	webhook-signature: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))
//
// where key is the base64-decoded part of the endpoint's whsec_ secret.
// Verify is the receiver's side, small enough to copy.
//
// Guarantees, per endpoint: events arrive in feed order (so in order per
// enrollment), at least once. The endpoint's cursor moves only after a 2xx;
// a failing event is retried with exponential backoff and jitter (Backoff)
// and blocks the ones behind it. After it has failed for RetryFor (24 h)
// and at least MinAttempts times, or at once on 410 Gone, the endpoint is
// disabled with a reason (PATCH enabled=true starts it again, with a fresh
// window; any change through the API also cancels a scheduled retry's
// wait). Each attempt is stored as a store.Delivery.
// Attempts time out (10 s), send a User-Agent, follow no redirect and read
// at most 64 KiB of an answer.
//
// Work runs as River jobs (jobs.go): a periodic DispatchArgs job finds
// endpoints with due events and inserts one DeliverArgs job per endpoint,
// unique while queued or running, so replicas sharing one database never
// deliver to one endpoint concurrently (which would break the order).
package webhook
