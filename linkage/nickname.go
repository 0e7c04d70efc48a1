package linkage

import (
	"slices"
	"strings"
)

// nicknameList holds groups of English given names that people use for
// one another: a formal name with its short forms and pet forms. A name may
// be in more than one group ("pat" is short for Patrick and Patricia).
var nicknameList = []string{
	"abigail abby abbie gail",
	"albert al bert bertie",
	"alexander alex alec sandy xander",
	"alexandra alex lexi sandra sasha",
	"alfred alf alfie fred",
	"andrew andy drew",
	"ann anne anna annie nan nancy hannah",
	"anthony tony ant",
	"arthur art artie",
	"barbara barb babs",
	"benjamin ben benny benji",
	"bernard bernie",
	"catherine cathy cath kate katie kathy kath katherine kathryn kit kitty",
	"charles charlie chas chuck chaz",
	"charlotte lottie charlie",
	"christina chris chrissie tina christine kirsty kristy",
	"christopher chris kit topher",
	"daniel dan danny",
	"david dave davey davy",
	"deborah debbie deb debra",
	"donald don donny",
	"dorothy dot dotty dolly",
	"douglas doug",
	"edward ed eddie ted teddy ned",
	"eleanor ellie nell nellie elle",
	"elizabeth liz lizzie beth betty bess bessie eliza elsie lisa libby",
	"emily em emmy millie",
	"frances fran frankie fanny",
	"francis frank frankie",
	"frederick fred freddie freddy",
	"gerald gerry jerry",
	"gregory greg",
	"harold harry hal",
	"helen nell nellie",
	"henry harry hal hank",
	"isabel isabella isabelle izzy bella issy",
	"jacqueline jackie jacqui",
	"james jim jimmy jamie",
	"jennifer jen jenny",
	"jessica jess jessie",
	"john jack johnny jon",
	"jonathan jon jonny nathan",
	"joseph joe joey jo",
	"josephine jo josie",
	"katharine kate katie kathy",
	"kenneth ken kenny",
	"lawrence laurence larry laurie",
	"leonard len lenny leo",
	"madeline madeleine maddie maddy",
	"margaret maggie meg peggy marge madge greta",
	"mary molly polly mae",
	"matthew matt matty",
	"michael mike mick mickey mikey",
	"natalie nat",
	"natasha tasha tash nat",
	"nicholas nick nicky nico",
	"patricia pat patty patsy trish tricia",
	"patrick pat paddy",
	"peter pete",
	"philip phil pip",
	"raymond ray",
	"rebecca becky becca",
	"richard rick ricky rich richie dick",
	"robert rob robbie bob bobby bert",
	"ronald ron ronnie",
	"samantha sam sammy",
	"samuel sam sammy",
	"sarah sally sadie sara",
	"stephen steve stevie steven",
	"susan sue susie suzy suzanne",
	"theodore theo ted teddy",
	"thomas tom tommy",
	"timothy tim timmy",
	"victoria vicky vicki tori",
	"walter walt wally",
	"william bill billy will willy liam",
	"zachary zach zack",
}

// nicknameIndex maps a folded given name to its entry in nicknameSets,
// the list of groups it is in. Entry 0 is empty, so that a prepared name
// stores two bytes rather than a slice.
var nicknameIndex, nicknameSets = buildNicknameIndex(nicknameList)

func buildNicknameIndex(groups []string) (map[string]uint16, [][]uint16) {
	byName := make(map[string][]uint16)
	var names []string
	for g, line := range groups {
		for _, n := range strings.Fields(line) {
			if _, ok := byName[n]; !ok {
				names = append(names, n)
			}
			if !slices.Contains(byName[n], uint16(g)) {
				byName[n] = append(byName[n], uint16(g))
			}
		}
	}
	index := make(map[string]uint16, len(names))
	sets := [][]uint16{nil}
	for _, n := range names {
		index[n] = uint16(len(sets))
		sets = append(sets, byName[n])
	}
	return index, sets
}

// nicknameGroups returns the entry in nicknameSets of the folded given
// name n, or 0 when it is in no group.
func nicknameGroups(n string) uint16 { return nicknameIndex[n] }

func shareGroup(a, b []uint16) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
