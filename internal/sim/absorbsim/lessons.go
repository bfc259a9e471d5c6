package absorbsim

// Chapter and lesson enrollments and lesson attempts (seed 003). A million
// course enrollments would carry several million lesson rows, so lesson
// state is derived from the course row until an attempt changes it; the
// ids are derived too, so repeated reads agree.

// lessonRow is one lesson enrollment as served.
type lessonRow struct {
	e              *enrollment
	l              *lesson
	status         int8
	attempts       int
	failures       int
	progress       float64
	score          float64
	lastAttempt    int64
	dateStarted    int64
	dateCompleted  int64
	dateEdited     int64
	timeSpentTicks int64
}

func saltOf(g guid) uint64 {
	var x uint64
	for i := 0; i < 8; i++ {
		x |= uint64(g[i]) << (8 * i)
	}
	return x
}

func lessonEnrollmentID(e *enrollment, l *lesson) guid {
	return newGUIDFrom(e.id, saltOf(l.id))
}

func chapterEnrollmentID(e *enrollment, ch *chapter) guid {
	return newGUIDFrom(e.id, saltOf(ch.id)^0xc4a9)
}

// lessonState is the lesson enrollment of l under e: the stored state when
// attempts touched it, otherwise derived from the course row's progress
// (the first progress% of lessons complete, the next in progress).
func lessonState(e *enrollment, l *lesson) lessonRow {
	if lp := e.lessons[l.idx]; lp != nil {
		row := lessonRow{e: e, l: l, status: lp.status, attempts: lp.attempts, failures: lp.failures, score: lp.score,
			lastAttempt: lp.lastAttempt, dateStarted: lp.dateStarted, dateCompleted: lp.dateCompleted,
			dateEdited: lp.dateEdited, timeSpentTicks: lp.timeSpentTicks}
		switch row.status {
		case statusComplete, statusFailed:
			row.progress = 100
		case statusInProgress:
			row.progress = 50
		}
		return row
	}
	n := len(e.course.lessons)
	done := int(e.progress/100*float64(n) + 0.5)
	if e.status == statusComplete {
		done = n
	}
	row := lessonRow{e: e, l: l, dateEdited: e.dateEdited}
	switch {
	case e.status == statusFailed && l.idx == n-1:
		row.status, row.progress, row.score, row.attempts, row.failures = statusFailed, 100, e.score, 1, 1
		row.dateStarted, row.lastAttempt = e.dateStarted, e.dateEdited
	case l.idx < done:
		row.status, row.progress, row.score, row.attempts = statusComplete, 100, e.score, 1
		row.dateStarted, row.dateCompleted = e.dateStarted, max(e.dateCompleted, e.dateStarted)
		row.lastAttempt = row.dateCompleted
	case l.idx == done && e.dateStarted != 0:
		row.status, row.progress, row.attempts = statusInProgress, 50, 1
		row.dateStarted, row.lastAttempt = e.dateStarted, e.dateStarted
	}
	if n > 0 && row.status != statusNotStarted {
		row.timeSpentTicks = e.timeSpentTicks / int64(n)
	}
	return row
}

// materialize stores l's derived state under e so that attempts can change it.
func materialize(e *enrollment, l *lesson) *lessonProgress {
	if lp := e.lessons[l.idx]; lp != nil {
		return lp
	}
	row := lessonState(e, l)
	lp := &lessonProgress{status: row.status, attempts: row.attempts, failures: row.failures, score: row.score,
		lastAttempt: row.lastAttempt, dateStarted: row.dateStarted, dateCompleted: row.dateCompleted,
		dateEdited: row.dateEdited, timeSpentTicks: row.timeSpentTicks}
	if e.lessons == nil {
		e.lessons = map[int]*lessonProgress{}
	}
	e.lessons[l.idx] = lp
	return lp
}

type lessonEnrollmentJSON struct {
	ID                  string  `json:"id"`
	ChapterEnrollmentID string  `json:"chapterEnrollmentId"`
	Type                string  `json:"type"`
	Attempts            int     `json:"attempts"`
	Failures            int     `json:"failures"`
	LastAttempt         *string `json:"lastAttempt"`
	CourseEnrollmentID  string  `json:"courseEnrollmentId"`
	ChapterID           string  `json:"chapterId"`
	LessonID            string  `json:"lessonId"`
	Name                string  `json:"name"`
	UserID              string  `json:"userId"`
	FullName            string  `json:"fullName"`
	Status              int8    `json:"status"`
	Progress            float64 `json:"progress"`
	Score               float64 `json:"score"`
	TimeSpent           string  `json:"timeSpent"`
	DateEnrolled        *string `json:"dateEnrolled"`
	DateStarted         *string `json:"dateStarted"`
	DateCompleted       *string `json:"dateCompleted"`
	DateEdited          *string `json:"dateEdited"`
	DateAdded           *string `json:"dateAdded"`
}

func lessonEnrollmentView(r lessonRow) lessonEnrollmentJSON {
	return lessonEnrollmentJSON{
		ID: lessonEnrollmentID(r.e, r.l).String(), ChapterEnrollmentID: chapterEnrollmentID(r.e, r.l.chapter).String(),
		Type: r.l.kind, Attempts: r.attempts, Failures: r.failures, LastAttempt: absorbTime(r.lastAttempt),
		CourseEnrollmentID: r.e.id.String(), ChapterID: r.l.chapter.id.String(), LessonID: r.l.id.String(),
		Name: r.l.name, UserID: r.e.user.id.String(), FullName: r.e.user.fullName(), Status: r.status,
		Progress: r.progress, Score: r.score, TimeSpent: timeSpan(r.timeSpentTicks),
		DateEnrolled: absorbTime(r.e.dateAdded), DateStarted: absorbTime(r.dateStarted),
		DateCompleted: absorbTime(r.dateCompleted), DateEdited: absorbTime(r.dateEdited), DateAdded: absorbTime(r.e.dateAdded),
	}
}

func lessonEnrollmentFields() schema[lessonRow] {
	return schema[lessonRow]{
		"id":                 {kindGUID, func(r lessonRow) value { return guidValue(lessonEnrollmentID(r.e, r.l)) }},
		"courseEnrollmentId": {kindGUID, func(r lessonRow) value { return guidValue(r.e.id) }},
		"chapterId":          {kindGUID, func(r lessonRow) value { return guidValue(r.l.chapter.id) }},
		"lessonId":           {kindGUID, func(r lessonRow) value { return guidValue(r.l.id) }},
		"userId":             {kindGUID, func(r lessonRow) value { return guidValue(r.e.user.id) }},
		"fullName":           {kindString, func(r lessonRow) value { return stringValue(r.e.user.fullName()) }},
		"name":               {kindString, func(r lessonRow) value { return stringValue(r.l.name) }},
		"type":               {kindString, func(r lessonRow) value { return stringValue(r.l.kind) }},
		"status":             {kindNumber, func(r lessonRow) value { return numberValue(float64(r.status)) }},
		"attempts":           {kindNumber, func(r lessonRow) value { return numberValue(float64(r.attempts)) }},
		"failures":           {kindNumber, func(r lessonRow) value { return numberValue(float64(r.failures)) }},
		"progress":           {kindNumber, func(r lessonRow) value { return numberValue(r.progress) }},
		"score":              {kindNumber, func(r lessonRow) value { return numberValue(r.score) }},
		"lastAttempt":        {kindTime, func(r lessonRow) value { return timeValue(r.lastAttempt) }},
		"dateEnrolled":       {kindTime, func(r lessonRow) value { return timeValue(r.e.dateAdded) }},
		"dateStarted":        {kindTime, func(r lessonRow) value { return timeValue(r.dateStarted) }},
		"dateCompleted":      {kindTime, func(r lessonRow) value { return timeValue(r.dateCompleted) }},
		"dateEdited":         {kindTime, func(r lessonRow) value { return timeValue(r.dateEdited) }},
		"dateAdded":          {kindTime, func(r lessonRow) value { return timeValue(r.e.dateAdded) }},
	}
}

type chapterEnrollmentJSON struct {
	ID                  string   `json:"id"`
	CourseEnrollmentID  string   `json:"courseEnrollmentId"`
	ChapterID           string   `json:"chapterId"`
	SessionID           *string  `json:"sessionId"`
	LessonID            *string  `json:"lessonId"`
	Name                string   `json:"name"`
	UserID              string   `json:"userId"`
	FullName            string   `json:"fullName"`
	Status              int8     `json:"status"`
	Progress            float64  `json:"progress"`
	Score               float64  `json:"score"`
	TimeSpent           string   `json:"timeSpent"`
	DateEnrolled        *string  `json:"dateEnrolled"`
	DateStarted         *string  `json:"dateStarted"`
	DateCompleted       *string  `json:"dateCompleted"`
	LessonEnrollmentIDs []string `json:"lessonEnrollmentIds"`
}

// chapterEnrollmentView rolls a chapter's lessons up: complete when all
// are, in progress when any started.
func chapterEnrollmentView(e *enrollment, ch *chapter) chapterEnrollmentJSON {
	j := chapterEnrollmentJSON{
		ID: chapterEnrollmentID(e, ch).String(), CourseEnrollmentID: e.id.String(), ChapterID: ch.id.String(),
		Name: ch.name, UserID: e.user.id.String(), FullName: e.user.fullName(), DateEnrolled: absorbTime(e.dateAdded),
		LessonEnrollmentIDs: []string{},
	}
	var ticks, started, completed int64
	done, anyStarted := 0, false
	var scoreSum float64
	for _, l := range ch.lessons {
		row := lessonState(e, l)
		j.LessonEnrollmentIDs = append(j.LessonEnrollmentIDs, lessonEnrollmentID(e, l).String())
		ticks += row.timeSpentTicks
		scoreSum += row.score
		if row.status != statusNotStarted {
			anyStarted = true
			if started == 0 || row.dateStarted != 0 && row.dateStarted < started {
				started = row.dateStarted
			}
		}
		if row.status == statusComplete {
			done++
			completed = max(completed, row.dateCompleted)
		}
	}
	n := len(ch.lessons)
	switch {
	case n > 0 && done == n:
		j.Status = statusComplete
		j.DateCompleted = absorbTime(completed)
	case anyStarted:
		j.Status = statusInProgress
	}
	if n > 0 {
		j.Progress = float64(done) * 100 / float64(n)
		j.Score = scoreSum / float64(n)
	}
	j.TimeSpent = timeSpan(ticks)
	j.DateStarted = absorbTime(started)
	return j
}

type attemptJSON struct {
	ID             string   `json:"id"`
	TimeSpentTicks int64    `json:"timeSpentTicks"`
	Status         int8     `json:"status"`
	Score          *float64 `json:"score"`
	StartDate      *string  `json:"startDate"`
	CompletionDate *string  `json:"completionDate"`
}

func attemptView(a *attempt) attemptJSON {
	j := attemptJSON{ID: a.id.String(), TimeSpentTicks: a.timeSpentTicks, Status: a.status,
		StartDate: absorbTime(a.startDate), CompletionDate: absorbTime(a.completionDate)}
	if a.hasScore {
		s := a.score
		j.Score = &s
	}
	return j
}

// startAttempt opens an attempt (status 1) on l under e.
func (d *dataset) startAttempt(e *enrollment, l *lesson, now int64) *attempt {
	lp := materialize(e, l)
	a := &attempt{id: newGUID(d.ids), enrollment: e, lesson: l, status: statusInProgress, startDate: now}
	d.attempts[a.id] = a
	lp.attemptList = append(lp.attemptList, a)
	lp.attempts++
	lp.lastAttempt = now
	lp.dateEdited = now
	if lp.dateStarted == 0 {
		lp.dateStarted = now
	}
	if lp.status == statusNotStarted {
		lp.status = statusInProgress
	}
	if e.status == statusNotStarted {
		setStatus(e, statusInProgress, now)
	}
	e.dateEdited = now
	return a
}

// finishAttempt records the outcome of an attempt (status 1, 3 or 5 per
// seed 003; their names InProgress/Complete/Failed are UNCERTAIN,
// providers.md §2.4) and rolls it up into the lesson and course rows.
func (d *dataset) finishAttempt(a *attempt, status int8, score *float64, start, completion int64, now int64) {
	e, l := a.enrollment, a.lesson
	lp := materialize(e, l)
	a.status = status
	if score != nil {
		a.score, a.hasScore = *score, true
		lp.score = *score
	}
	if start != 0 {
		a.startDate = start
	}
	switch {
	case completion != 0:
		a.completionDate = completion
	case status != statusInProgress:
		a.completionDate = now
	}
	if a.completionDate > a.startDate {
		a.timeSpentTicks = (a.completionDate - a.startDate) * ticksPerSecond
	}
	lp.status = status
	lp.lastAttempt = max(lp.lastAttempt, a.startDate)
	lp.dateEdited = now
	lp.timeSpentTicks += a.timeSpentTicks
	e.timeSpentTicks += a.timeSpentTicks
	switch status {
	case statusComplete:
		lp.dateCompleted = a.completionDate
	case statusFailed:
		lp.failures++
	}
	done := 0
	var scoreSum float64
	for _, other := range e.course.lessons {
		row := lessonState(e, other)
		if row.status == statusComplete {
			done++
		}
		scoreSum += row.score
	}
	n := len(e.course.lessons)
	e.progress = float64(done) * 100 / float64(n)
	if done == n && e.status != statusComplete {
		e.score = scoreSum / float64(n)
		setStatus(e, statusComplete, now)
	}
	e.dateEdited = now
}
