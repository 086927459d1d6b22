package synth

import (
	"fmt"
	"strings"
)

// Placeholders in templates.
const (
	SlotSubject = "{subj}"  // the person: full name at first mention, then a pronoun or the name
	SlotValue   = "{value}" // the attribute's value
	SlotCode    = "{code}"  // a random serial, drawn afresh per sentence
)

// Attribute is one fact every person has.
type Attribute struct {
	Name string `json:"name"`
	// Values is the pool the value is drawn from uniformly, unless From is
	// set.
	Values []string `json:"values,omitempty"`
	// From names an earlier attribute whose value determines this one
	// through Map (an employer's city): learnable from the paragraph
	// itself when that attribute is in it.
	From string            `json:"from,omitempty"`
	Map  map[string]string `json:"map,omitempty"`
	// Templates each hold SlotValue once and SlotSubject at most once;
	// the last Pools.HeldoutTemplates of them render only held-out
	// paragraphs.
	Templates []string `json:"templates"`
}

// Pools are everything a world is drawn from.
type Pools struct {
	FemaleFirstNames []string    `json:"female_first_names"`
	MaleFirstNames   []string    `json:"male_first_names"`
	LastNames        []string    `json:"last_names"`
	Attributes       []Attribute `json:"attributes"`
	// HeldoutTemplates is how many templates of each attribute (the
	// last ones) are held out.
	HeldoutTemplates int `json:"heldout_templates"`
	// Noise templates hold SlotCode once (and SlotSubject at most once).
	Noise []string `json:"noise_templates"`
	// Filler are stock sentences with no slot.
	Filler []string `json:"filler"`
}

// UniqueNames is how many distinct full names the pools can make.
func (p *Pools) UniqueNames() int {
	return (len(p.FemaleFirstNames) + len(p.MaleFirstNames)) * len(p.LastNames)
}

// Validate checks the pools: every template has its slot exactly once and
// no unknown slot, each attribute keeps at least one train and one
// held-out template, values are distinct, and a From attribute maps every
// value of the attribute it depends on, which must come earlier.
func (p *Pools) Validate() error {
	if len(p.FemaleFirstNames)+len(p.MaleFirstNames) == 0 || len(p.LastNames) == 0 {
		return fmt.Errorf("pools: no first or last names")
	}
	if err := distinct("first names", append(append([]string(nil), p.FemaleFirstNames...), p.MaleFirstNames...)); err != nil {
		return err
	}
	if err := distinct("last_names", p.LastNames); err != nil {
		return err
	}
	if len(p.Attributes) == 0 {
		return fmt.Errorf("pools: no attributes")
	}
	if p.HeldoutTemplates < 1 {
		return fmt.Errorf("pools: heldout_templates %d: want >= 1 (the held-out questions need templates never trained on)", p.HeldoutTemplates)
	}
	seen := map[string]*Attribute{}
	for i := range p.Attributes {
		a := &p.Attributes[i]
		if a.Name == "" {
			return fmt.Errorf("pools: attribute %d has no name", i)
		}
		if seen[a.Name] != nil {
			return fmt.Errorf("pools: attribute %q appears twice", a.Name)
		}
		switch {
		case a.From != "":
			src := seen[a.From]
			if src == nil {
				return fmt.Errorf("pools: attribute %q: from %q: no earlier attribute of that name", a.Name, a.From)
			}
			if src.From != "" {
				return fmt.Errorf("pools: attribute %q: from %q, which is itself derived", a.Name, a.From)
			}
			for _, v := range src.Values {
				if a.Map[v] == "" {
					return fmt.Errorf("pools: attribute %q: map has no value for %s %q", a.Name, a.From, v)
				}
			}
		case len(a.Values) == 0:
			return fmt.Errorf("pools: attribute %q has no values", a.Name)
		default:
			if err := distinct("attribute "+a.Name+" values", a.Values); err != nil {
				return err
			}
		}
		if len(a.Templates) <= p.HeldoutTemplates {
			return fmt.Errorf("pools: attribute %q has %d templates: want more than heldout_templates (%d), so some are trained on", a.Name, len(a.Templates), p.HeldoutTemplates)
		}
		for k, t := range a.Templates {
			if err := checkTemplate(t, SlotValue); err != nil {
				return fmt.Errorf("pools: attribute %q: template %d %q: %w", a.Name, k, t, err)
			}
		}
		seen[a.Name] = a
	}
	if len(p.Noise) == 0 {
		return fmt.Errorf("pools: no noise templates")
	}
	for k, t := range p.Noise {
		if err := checkTemplate(t, SlotCode); err != nil {
			return fmt.Errorf("pools: noise template %d %q: %w", k, t, err)
		}
	}
	if len(p.Filler) == 0 {
		return fmt.Errorf("pools: no filler sentences")
	}
	for k, t := range p.Filler {
		if strings.Contains(t, "{") || strings.Contains(t, "}") {
			return fmt.Errorf("pools: filler %d %q: fillers take no slot", k, t)
		}
	}
	return nil
}

// checkTemplate wants slot exactly once, SlotSubject at most once and no
// other {...}.
func checkTemplate(t, slot string) error {
	if n := strings.Count(t, slot); n != 1 {
		return fmt.Errorf("has %s %d times: want exactly once", slot, n)
	}
	if strings.Count(t, SlotSubject) > 1 {
		return fmt.Errorf("has %s more than once", SlotSubject)
	}
	rest := strings.ReplaceAll(strings.ReplaceAll(t, slot, ""), SlotSubject, "")
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("has an unknown slot (only %s and %s)", slot, SlotSubject)
	}
	return nil
}

func distinct(what string, vs []string) error {
	seen := map[string]bool{}
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("pools: %s: an empty value", what)
		}
		if seen[v] {
			return fmt.Errorf("pools: %s: %q appears twice", what, v)
		}
		seen[v] = true
	}
	return nil
}

// DefaultPools are the built-in bios pools: 60 first names × 60 last
// names (3,600 unique people), six attributes (birth date, birth city,
// university, major, employer, and the employer's city, which the employer
// determines), eight templates each of which the last two are held out,
// five noise templates and twenty fillers.
func DefaultPools() *Pools {
	cities := []string{"Boston", "Chicago", "Denver", "Seattle", "Atlanta", "Houston", "Phoenix", "Portland",
		"Austin", "Miami", "Dallas", "Detroit", "Memphis", "Omaha", "Tucson", "Raleigh", "Richmond", "Toledo",
		"Fresno", "Spokane", "Madison", "Albany", "Savannah", "Lexington", "Boise", "Tulsa", "Wichita", "Reno",
		"Dayton", "Orlando"}
	employers := []string{"Brightwater Analytics", "Copperline Foods", "Driftwood Media", "Evergreen Logistics",
		"Foxglove Pharmaceuticals", "Granite Peak Insurance", "Harborview Bank", "Ironleaf Software",
		"Juniper Energy", "Keystone Motors", "Lumen Optics", "Meridian Airlines", "Northwind Textiles",
		"Orchard Health", "Pinecrest Realty", "Quarry Stone Works", "Redwood Robotics", "Silverline Telecom",
		"Tidewater Shipping", "Upland Farms", "Vantage Consulting", "Willow Creek Studios", "Yellowfin Marine",
		"Zephyr Aerospace"}
	employerCity := map[string]string{}
	for i, e := range employers {
		employerCity[e] = cities[(i*7)%len(cities)]
	}
	months := []string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
		"October", "November", "December"}
	var dates []string
	for y := 1950; y < 2000; y++ {
		for _, m := range months {
			for d := 1; d <= 28; d++ {
				dates = append(dates, fmt.Sprintf("%s %d, %d", m, d, y))
			}
		}
	}
	return &Pools{
		FemaleFirstNames: []string{"Alice", "Beatrice", "Clara", "Diana", "Elena", "Fiona", "Grace", "Hannah",
			"Irene", "Julia", "Karen", "Laura", "Maria", "Nora", "Olivia", "Paula", "Rachel", "Sofia", "Tara",
			"Ursula", "Vera", "Wendy", "Yara", "Zoe", "Amelia", "Bianca", "Chloe", "Daphne", "Emma", "Flora"},
		MaleFirstNames: []string{"Adam", "Bruno", "Carl", "Daniel", "Edward", "Felix", "George", "Henry", "Ivan",
			"James", "Kevin", "Louis", "Martin", "Nathan", "Oscar", "Peter", "Quentin", "Robert", "Samuel",
			"Thomas", "Victor", "Walter", "Xavier", "Yusuf", "Zachary", "Arthur", "Benjamin", "Caleb", "Dominic",
			"Elliot"},
		LastNames: []string{"Adams", "Baker", "Carter", "Diaz", "Evans", "Foster", "Garcia", "Hughes", "Iverson",
			"Jensen", "Kim", "Lopez", "Morgan", "Nguyen", "Ortiz", "Patel", "Quinn", "Reyes", "Shaw", "Turner",
			"Underwood", "Vargas", "Walsh", "Young", "Zimmerman", "Bishop", "Chen", "Dawson", "Ellis", "Fischer",
			"Grant", "Hayes", "Ingram", "Jordan", "Keller", "Lambert", "Mercer", "Nolan", "Olsen", "Price",
			"Ramsey", "Sutton", "Tate", "Vaughn", "Wade", "Yates", "Barnes", "Coleman", "Doyle", "Fleming",
			"Gibson", "Harper", "Irwin", "Knight", "Lowell", "Monroe", "Nash", "Osborne", "Palmer", "Rhodes"},
		HeldoutTemplates: 2,
		Attributes: []Attribute{
			{Name: "birth_date", Values: dates, Templates: []string{
				"{subj} was born on {value}.",
				"{subj} came into the world on {value}.",
				"Records show that {subj} was born on {value}.",
				"On {value}, {subj} was born.",
				"{subj} entered life on {value}.",
				"{subj} was born on the date {value}.",
				// held out
				"It was on {value} that {subj} was born.",
				"{subj} first saw daylight on {value}.",
			}},
			{Name: "birth_city", Values: cities, Templates: []string{
				"{subj} was born in {value}.",
				"{subj} spent the early years in {value}.",
				"{subj} is a native of {value}.",
				"{subj} hails from {value}.",
				"In {value}, {subj} was born and raised.",
				"{subj} comes from the city of {value}.",
				// held out
				"{subj} originally comes from {value}.",
				"{subj} was raised in {value}, where the family lived.",
			}},
			{Name: "university", Values: []string{"Ashford University", "Carrow Institute of Technology",
				"Bellmont College", "Dunmore University", "Elston State University", "Fairhaven College",
				"Glenwood University", "Harlow Institute", "Ivybridge University", "Kingsford College",
				"Larkspur University", "Marlow Polytechnic", "Northgate University", "Oakridge College",
				"Pembrook University", "Queensbury Institute", "Ravenscroft University", "Stanwick College",
				"Thornbury University", "Westbrook Institute"}, Templates: []string{
				"{subj} studied at {value}.",
				"{subj} attended {value}.",
				"{subj} graduated from {value}.",
				"{subj} received an education at {value}.",
				"{subj} completed a degree at {value}.",
				"At {value}, {subj} spent four years as a student.",
				// held out
				"{subj} was enrolled at {value} for several years.",
				"{subj} earned a diploma from {value}.",
			}},
			{Name: "major", Values: []string{"Biology", "Chemistry", "Economics", "History", "Linguistics",
				"Mathematics", "Philosophy", "Physics", "Psychology", "Sociology", "Architecture", "Astronomy",
				"Geology", "Music", "Nursing", "Statistics", "Accounting", "Journalism", "Anthropology", "Medicine"},
				Templates: []string{
					"{subj} majored in {value}.",
					"{subj} focused on {value} as a student.",
					"{subj} chose {value} as a field of study.",
					"{subj} specialized in {value}.",
					"{subj} took a degree in {value}.",
					"As a student, {subj} concentrated on {value}.",
					// held out
					"{subj} devoted the college years to {value}.",
					"{subj} pursued coursework in {value}.",
				}},
			{Name: "employer", Values: employers, Templates: []string{
				"{subj} works for {value}.",
				"{subj} is employed by {value}.",
				"{subj} has a job at {value}.",
				"{subj} joined {value} after graduating.",
				"{subj} took a position at {value}.",
				"Today {subj} works at {value}.",
				// held out
				"{subj} earns a living at {value}.",
				"{subj} is on the staff of {value}.",
			}},
			{Name: "work_city", From: "employer", Map: employerCity, Templates: []string{
				"{subj} works in {value}.",
				"{subj} lives and works in {value}.",
				"{subj} commutes to an office in {value}.",
				"{subj} is based in {value}.",
				"{subj} moved to {value} for work.",
				"{subj} spends the working week in {value}.",
				// held out
				"{subj} reports to an office in {value}.",
				"{subj} relocated to {value} for the job.",
			}},
		},
		Noise: []string{
			"{subj} holds staff badge {code}.",
			"The file on record is numbered {code}.",
			"Archive reference: {code}.",
			"{subj} was assigned the serial {code}.",
			"Registry entry {code} lists these details.",
		},
		Filler: []string{
			"Friends describe the family as close.",
			"The details below come from public records.",
			"Little else is known about the early years.",
			"This entry was last reviewed by the editors.",
			"Many people remember those times fondly.",
			"The summary that follows is brief.",
			"Such records are common for the period.",
			"Nothing unusual was noted at the time.",
			"The account was compiled from several sources.",
			"Colleagues speak well of the work.",
			"The weather that year was mild.",
			"Some dates may be approximate.",
			"Further details are kept in the archive.",
			"The neighbors were friendly and quiet.",
			"A short note was added later.",
			"This profile is part of a larger collection.",
			"The family kept a small garden.",
			"Photographs from that time are rare.",
			"Later years were spent close to home.",
			"The record is believed to be accurate.",
		},
	}
}
