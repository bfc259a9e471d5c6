// Package digitalchalk is Registrar's connector for the DigitalChalk REST API
// v5: it lists and reads registrations (DigitalChalk's enrollments) with their
// users and offerings, maps them to the unified model, and writes back what
// the API allows: register (enroll and, where the offering allows retakes,
// re-enroll), assign a grade, and eject.
//
// Sources: seeds 000 and 001 and shared/reference/providers.md section 3
// (cited as §3.x below). Facts marked UNCERTAIN there are settings, not
// guesses baked into the code (see Definition).
//
// DigitalChalk has no modified-since filter on registrations, so this
// connector is not an IncrementalReader: every sync walks all registrations
// and the sync engine compares content hashes.
package digitalchalk
