// Package dcsim simulates the DigitalChalk REST API v5 as far as Registrar
// uses it: registrations (list, read, register, grade, eject), users and
// offerings, with the vendor's bearer-token auth, limit/offset paging and
// error bodies (seeds 000/001, providers.md §3).
//
// # Routes (under Config.PathPrefix, default /dc/api/v5)
//
//	GET  /registrations        filters status, userId, offeringId, createdDate,
//	                           beginDate, lastActiveDate, endDate; limit, offset
//	GET  /registrations/{id}
//	POST /registrations        {"userId","offeringId"} → 201, empty body, Location
//	PUT  /registrations/{id}   {"grade"|"gradePercentage", "graderComment"?} or
//	                           {"status":"ejected"} → 204
//	GET  /users, /users/{id}
//	GET  /offerings            filters title, tag, offeringCategoryId,
//	                           createdDate, userId|studentId
//	GET  /offerings/{id}
//
// # The data set
//
// Seeded and deterministic: the same seed on the same UTC day gives the same
// data (dates are anchored at the start of the clock's day). User 0 is the
// API account (Sim.APIUserID): it holds no registrations and is the graderId
// of grades assigned through the API. Offerings cycle through ten shapes, so
// any data set of ten or more offerings has open ones (with and without an
// endDate, with and without retakes), one whose registration window has
// closed while it still runs, ones whose endDate has passed (every
// registration graded), and one not yet open. Registrations cover every
// status, active with and without a beginDate, grades by hand (graderId,
// graderComment) and by the course, and retakes: several registrations for
// one user and offering, all but the last finished. The passing grade and
// the retake rule of an offering are not in the vendor's JSON; tests read
// them with Sim.OfferingRules.
//
// Listings are in creation order; new registrations append. When the clock
// passes an offering's endDate its active registrations become passed or
// failed (providers.md §3.5), applied on the next request, so advancing
// /_sim/clock is enough to see it.
//
// # Choices where the vendor's documentation is silent (UNCERTAIN)
//
//   - a missing or wrong token gets 401 {"errors":[…]} with WWW-Authenticate;
//   - a limit above 100 is clamped to 100, not refused; a bad limit or offset
//     is 400 fieldErrors;
//   - date filters take a timestamp (that second), an imprecise date such as
//     2012, 2012-03, 2012-03-01 or 2012-03-01T06 (that period), or a range
//     "from,to" with either side optional; the real range syntax is on a
//     page that was not retrieved;
//   - an unknown or malformed id in a userId/offeringId filter matches
//     nothing rather than failing;
//   - throttling is 429 {"errors":["Too many requests"]} without Retry-After;
//   - an ejection does not stop the user from registering again;
//   - re-grading replaces graderComment (cleared when none is sent);
//   - PUT with neither a grade nor a status is 400 errors[]; grade and
//     gradePercentage together must agree; any status other than "ejected"
//     is 400 fieldErrors.status;
//   - methods the API lacks on known paths (e.g. DELETE of a registration)
//     are 405, unknown paths 404, both with errors[].
//
// The simulator speaks only the vendor's dialect: it imports no Registrar
// model or connector code.
package dcsim
