"""Calendar feeds: every signed-in person can make a private link to an iCalendar feed of release milestones."""
