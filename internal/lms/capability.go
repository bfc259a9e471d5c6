package lms

// Capability names one thing a connector can do beyond reading. The set a
// connector has is derived from the Go interfaces it implements (see package
// provider), never written by hand.
type Capability string

// The capabilities of DESIGN.md's write table, plus incremental listing.
const (
	CapabilityEnroll          Capability = "enroll"
	CapabilityReEnroll        Capability = "reenroll"
	CapabilityScore           Capability = "score"
	CapabilityComplete        Capability = "complete"
	CapabilityWithdraw        Capability = "withdraw"
	CapabilityReactivate      Capability = "reactivate"
	CapabilityInvitation      Capability = "invitation"
	CapabilityLessonAttempts  Capability = "lesson_attempts"
	CapabilityIncrementalSync Capability = "incremental_sync"
	CapabilitySetStatus       Capability = "set_status"
)
