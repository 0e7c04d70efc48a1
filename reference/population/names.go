package population

// Name pools for the synthetic population. They mix names common in
// England with names from the communities that live there, and include the
// forms that break careless code: both apostrophes (’ and '), hyphens,
// accents, particles and one-part names.
var (
	femaleGiven = []string{
		"Olivia", "Amelia", "Isla", "Ava", "Mia", "Sophia", "Grace", "Lily", "Freya", "Emily",
		"Elizabeth", "Margaret", "Catherine", "Rebecca", "Samantha", "Jennifer", "Victoria", "Sarah",
		"Eleanor", "Charlotte", "Jessica", "Natalie", "Patricia", "Susan", "Deborah", "Helen",
		"Aisha", "Fatima", "Maryam", "Zainab", "Priya", "Ananya", "Niamh", "Siobhán", "Aoife",
		"Zoë", "Chloé", "Renée", "Gabriela", "Agnieszka", "Ngozi", "Chiamaka", "Mei", "Anh",
		"Siân", "Ffion", "Mary-Jane", "Anne-Marie",
	}
	maleGiven = []string{
		"Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Charlie", "Alfie",
		"William", "Robert", "James", "Thomas", "Michael", "Christopher", "Daniel", "Richard",
		"Edward", "Matthew", "Nicholas", "Stephen", "Jonathan", "Anthony", "Peter", "Andrew",
		"Mohammed", "Ibrahim", "Yusuf", "Arjun", "Rohan", "Oisín", "Seán", "Ciarán", "Tomás",
		"José", "François", "Jürgen", "Wojciech", "Chukwuemeka", "Kwame", "Wei", "Minh",
		"Dafydd", "Rhys", "Jean-Luc", "Mark-Anthony",
	}
	familyNames = []string{
		"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
		"Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
		"Wood", "Jackson", "Clarke", "Khan", "Ahmed", "Hussain", "Begum", "Singh", "Kaur",
		"O’Brien", "O'Connor", "D'Souza", "O’Neill", "McCarthy", "MacDonald", "Fitzgerald",
		"Smith-Jones", "Harris-Clarke", "Lloyd-Webber", "Nguyễn", "Trần", "Kowalczyk",
		"Wiśniewska", "Gonçalves", "Müller", "Okafor", "Adeyemi", "Mensah", "Chen", "Wang",
		"van der Berg", "de la Cruz", "ap Gwynedd",
	}
	// oneNamed are people known by a single name, recorded as a given name
	// with no family name.
	oneNamed = []string{"Sukarni", "Aung", "Adiwena", "Kalinda", "Wirawan", "Sunarti"}

	streets = []string{
		"Acacia Road", "Beech Grove", "Chapel Lane", "Mill Street", "Station Road", "Church Walk",
		"Victoria Terrace", "Albert Avenue", "Orchard Close", "Riverside Court", "St Mary’s Road",
		"Queen's Drive", "Hawthorn Way", "Meadow View", "Canal Side", "Kingfisher Rise",
	}
	// towns pairs each town with its postcode area and districts.
	towns = []struct {
		name      string
		area      string
		districts []int
	}{
		{"Leeds", "LS", []int{4, 6, 7, 8, 11, 12}},
		{"Bradford", "BD", []int{3, 5, 7, 8, 9}},
		{"Wakefield", "WF", []int{1, 2, 3, 4}},
		{"Harrogate", "HG", []int{1, 2, 3}},
	}

	placesOfBirth = []string{"Leeds General Infirmary", "St James’s University Hospital", "Bradford Royal Infirmary", "Pinderfields Hospital", "at home"}
)

// nicknames maps formal given names to a short form that people also use.
var nicknames = map[string]string{
	"Elizabeth": "Liz", "Margaret": "Maggie", "Catherine": "Kate", "Rebecca": "Becky",
	"Samantha": "Sam", "Jennifer": "Jenny", "Victoria": "Vicky", "Eleanor": "Ellie",
	"Patricia": "Trish", "Susan": "Sue", "Deborah": "Debbie", "Jessica": "Jess",
	"William": "Bill", "Robert": "Bob", "James": "Jim", "Thomas": "Tom", "Michael": "Mike",
	"Christopher": "Chris", "Daniel": "Danny", "Richard": "Rick", "Edward": "Ted",
	"Matthew": "Matt", "Nicholas": "Nick", "Stephen": "Steve", "Anthony": "Tony",
	"Peter": "Pete", "Andrew": "Andy", "Jonathan": "Jon",
}
