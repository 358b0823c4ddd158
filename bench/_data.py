"""Realistic mediator profiles for the benchmarks: names, countries, languages, specialisations.

``ProfileGenerator`` is ``lifecycle.Generator`` (the facts: grants, invoices, settlements,
conduct, giving its SPREAD of statuses) with the profile of each mediator drawn by ``People``:

* countries skewed as in an international register: a few big ones (US, GB, DE, IN, FR, ...)
  and a long tail of every other ISO country with a small share each;
* names from the country's naming culture, with accents, particles (van der, da, O'), middle
  names, two surnames where that is the custom, family name first in Vietnam; within a culture
  names are drawn with Zipf-like weights (pools are in rough order of frequency), so prefixes
  have a realistic selectivity ("m" matches far more than "xo");
* 1-3 languages: usually a language of the country, English very common, sometimes another;
* 0-2 granted specialisations (the credentials migration 0007 keeps), most have none.
"""

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lifecycle import SEED, Batch, Generator, _search_form

from registry.mediators.models import MediatorLanguage, SpecialisationGrant
from registry.reference import COUNTRIES


@dataclass(frozen=True)
class Culture:
    """A naming custom: pools of given and family names, most frequent first."""

    given: list[str]
    family: list[str]
    # How steeply frequency falls along a pool (Zipf exponent): Vietnam's Nguyễn is ~40%.
    skew: float = 0.6
    # Share of names with a second given name, and with a second family name.
    middle_share: float = 0.12
    second_family_share: float = 0.0
    family_first: bool = False
    middle: list[str] = field(default_factory=list)


def _pool(names: str) -> list[str]:
    return [name.strip() for name in names.split(",")]


# fmt: off
CULTURES = {
    "en": Culture(
        _pool("James, Mary, John, Sarah, Michael, Emma, David, Elizabeth, Robert, Jennifer, "
              "William, Charlotte, Thomas, Emily, Richard, Rebecca, Daniel, Laura, Matthew, "
              "Susan, Christopher, Karen, Andrew, Rachel, Mark, Hannah, Oliver, Amelia, George, "
              "Sophie, Patrick, Claire, Anthony, Margaret, Siobhán, Aoife, Seán, Niamh, Ciarán, "
              "Zoë, Chloë"),
        _pool("Smith, Johnson, Williams, Brown, Jones, Taylor, Davies, Miller, Wilson, Evans, "
              "Thomas, Roberts, Anderson, Walker, Wright, Robinson, Thompson, White, Hughes, "
              "Edwards, Green, Hall, Wood, Harris, Lewis, Martin, Jackson, Clarke, Clark, Turner, "
              "Hill, Scott, Cooper, Morris, Ward, Moore, King, Watson, Baker, Harrison, Morgan, "
              "Patel, Young, Allen, Mitchell, Campbell, Kelly, Murphy, O'Brien, O'Connor, "
              "O'Sullivan, McCarthy, Walsh, Byrne, Ryan, Fitzgerald, Ashworth, MacDonald, "
              "Brooks, Bennett, Gray, Price, Sanders, Reed, Bailey, Howard, Cox, Richardson"),
    ),
    "de": Culture(
        _pool("Thomas, Andreas, Michael, Stefan, Sabine, Petra, Julia, Katharina, Matthias, "
              "Monika, Jürgen, Ulrike, Lukas, Anna, Jörg, Günther, Sophie, Maximilian, Felix, "
              "Lena, Birgit, Dieter, Claudia, Wolfgang, Susanne, Björn, Annegret, Kai, Jan"),
        _pool("Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, "
              "Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, "
              "Zimmermann, Braun, Krüger, Hofmann, Hartmann, Lange, Schmitt, Werner, Krause, "
              "Meier, Lehmann, Köhler, Weiß, Jäger, Groß, Mueller, Huber, von Arnim, Böhm"),
        middle_share=0.15,
    ),
    "fr": Culture(
        _pool("Marie, Jean, Pierre, Nicolas, Isabelle, Camille, François, Chloé, Sébastien, "
              "Céline, Julien, Mathilde, Émile, Hélène, Jérôme, Amélie, Étienne, Noémie, "
              "Benoît, Thérèse, Louis, Grégoire, Léa, Jean-Luc, Marie-Claire, Anaïs, Gaëlle, "
              "Loïc, Hervé, Agnès"),
        _pool("Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, "
              "Simon, Laurent, Lefèvre, Michel, David, Bertrand, Roux, Vincent, Fournier, "
              "Morel, Girard, André, Mercier, Dupont, Lambert, Bonnet, François, Lemaître, "
              "Gauthier, Chevalier, Faure, Rousseau, Blanc, Guérin, Boyer, Garnier, Chevallier, "
              "Lefebvre, Peeters, Janssens, Maes"),
    ),
    "es": Culture(
        _pool("María, José, Ana, Juan, Carmen, Antonio, Lucía, Javier, Sofía, Alejandro, "
              "Laura, Manuel, Elena, Francisco, Pilar, Tomás, Rubén, Álvaro, Inés, Jesús, Raúl, "
              "Martín, Iñaki, Begoña, Nuria, Andrés, Mónica, Sergio, Valentina, Santiago, "
              "Camila, Mateo, Ximena, Xóchitl"),
        _pool("García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, "
              "Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Alonso, "
              "Gutiérrez, Navarro, Torres, Domínguez, Vázquez, Ramos, Gil, Ramírez, Serrano, "
              "Blanco, Núñez, Ibáñez, Peña, Castillo, Ortega, Rubio, Morales, Delgado, Castro, "
              "Ortiz, Marín, Sanz, Iglesias, Medina, Garrido, Cortés, Guerrero, Flores, Rojas"),
        middle_share=0.2,
        second_family_share=0.6,
    ),
    "pt": Culture(
        _pool("Ana, João, Maria, José, Mateus, Gabriel, Beatriz, Lucas, Luís, Inês, Thiago, "
              "Rafael, Camila, Fernanda, Rodrigo, Letícia, Paulo, Luana, Fábio, Gonçalo, "
              "Conceição, Sebastião, Lúcia, Gabriela, Antônio, Vitória, Rúben, Mariana"),
        _pool("Silva, Santos, Oliveira, Souza, Rodrigues, Ferreira, Alves, Pereira, Lima, "
              "Gomes, Costa, Ribeiro, Martins, Carvalho, Almeida, Lopes, Sousa, Fernandes, "
              "Vieira, Barbosa, Rocha, Dias, Nascimento, Araújo, Gonçalves, Magalhães, "
              "da Silva, dos Santos, de Souza, da Costa, Mendes, Cardoso, Teixeira, Moreira"),
        middle_share=0.25,
        second_family_share=0.4,
    ),
    "it": Culture(
        _pool("Giulia, Marco, Alessandro, Francesca, Luca, Chiara, Matteo, Giorgia, Lorenzo, "
              "Federica, Giuseppe, Andrea, Paola, Simone, Elisa, Niccolò, Sara, Davide, "
              "Valentina, Stefano, Roberta, Giovanni, Ilaria"),
        _pool("Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, "
              "Bruno, Gallo, Conti, De Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti, "
              "Barbieri, Fontana, Santoro, Mariani, Rinaldi, Caruso, Ferrara, Galli, Martini, "
              "Leone, Longo, Gentile, Vitale, D'Angelo, De Santis, Marchetti, Parisi, Villa"),
    ),
    "nl": Culture(
        _pool("Daan, Sanne, Bram, Femke, Joost, Anouk, Maarten, Eline, Sjoerd, Lotte, Ruud, "
              "Marieke, Wouter, Inge, Thijs, Floor, Pieter, Annelies, Jeroen, Esther, Koen, "
              "Mirjam, Bas, Noor"),
        _pool("de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, "
              "Smit, Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, "
              "van Leeuwen, Dekker, Brouwer, de Wit, Dijkstra, Smits, de Graaf, van der Meer, "
              "van der Linden, Kok, Jacobs, de Haan, Vermeulen, van den Heuvel, van der Veen, "
              "Van der Berg, van Beek"),
    ),
    "pl": Culture(
        _pool("Anna, Piotr, Katarzyna, Krzysztof, Małgorzata, Tomasz, Agnieszka, Łukasz, "
              "Joanna, Paweł, Magdalena, Michał, Ewa, Bartosz, Zofia, Wojciech, Jędrzej, "
              "Grażyna, Marta, Jakub"),
        _pool("Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, "
              "Zieliński, Szymański, Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, "
              "Kwiatkowski, Krawczyk, Piotrowski, Grabowski, Nowakowski, Pawłowski, Michalski, "
              "Król, Wieczorek, Jabłoński, Wróbel, Majewski, Olszewski, Stępień, Malinowski, "
              "Łęcka, Kowalska, Nowicka"),
        middle_share=0.05,
    ),
    "in": Culture(
        _pool("Priya, Rahul, Ananya, Arjun, Aditi, Vikram, Deepika, Sanjay, Kavita, Rohan, "
              "Sunita, Amit, Neha, Rajesh, Pooja, Anil, Lakshmi, Suresh, Meera, Kiran, "
              "Venkatesh, Divya, Harpreet, Gurpreet"),
        _pool("Sharma, Singh, Kumar, Patel, Gupta, Reddy, Iyer, Nair, Rao, Das, Mehta, Joshi, "
              "Chopra, Banerjee, Mukherjee, Chatterjee, Agarwal, Verma, Pillai, Menon, Desai, "
              "Kapoor, Malhotra, Bhat, Shah, Krishnan, Srinivasan, Ghosh, Bose, Kaur"),
        middle_share=0.08,
    ),
    "west-africa": Culture(
        _pool("Nnamdi, Chiamaka, Oluwaseun, Adaeze, Emeka, Ngozi, Babajide, Folake, Chinedu, "
              "Funmilayo, Kwame, Ama, Kofi, Abena, Yaw, Akosua, Tunde, Ifeoma, Uche, Amara, "
              "Aminu, Hauwa, Ibrahim, Aisha"),
        _pool("Okafor, Adeyemi, Okonkwo, Eze, Obi, Nwosu, Adebayo, Ogunleye, Balogun, Chukwu, "
              "Mensah, Boateng, Owusu, Asante, Osei, Appiah, Danjuma, Bello, Ibrahim, "
              "Abubakar, Okeke, Onyekachi, Adeleke, Olawale, Nwachukwu, Agyemang"),
    ),
    "east-africa": Culture(
        _pool("Wanjiru, Kamau, Akinyi, Otieno, Njeri, Mwangi, Achieng, Wambui, Odhiambo, "
              "Nyambura, Mutua, Zawadi, Baraka, Amani, Neema, Grace, Joseph, Faith, Brian, "
              "Mercy"),
        _pool("Kamau, Mwangi, Otieno, Ochieng, Njoroge, Kariuki, Wanjiku, Kiprono, Mutai, "
              "Onyango, Wafula, Chebet, Kimani, Omondi, Korir, Mugo, Nyong'o, Musoke, "
              "Nakato, Mbeki, Mushi, Kiptoo"),
        middle_share=0.3,
    ),
    "vn": Culture(
        _pool("An, Bình, Cường, Dũng, Hương, Lan, Minh, Ngọc, Phương, Quang, Thảo, Trang, "
              "Tuấn, Việt, Đức, Hà, Linh, Mai, Hùng, Thủy"),
        _pool("Nguyễn, Trần, Lê, Phạm, Hoàng, Huỳnh, Phan, Vũ, Võ, Đặng, Bùi, Đỗ, Hồ, Ngô, "
              "Dương, Lý"),
        skew=1.4,
        middle_share=0.9,
        family_first=True,
        middle=_pool("Văn, Thị, Hữu, Đình, Minh, Thanh, Quốc, Ngọc"),
    ),
    "tr": Culture(
        _pool("Mehmet, Ayşe, Mustafa, Fatma, Emre, Zeynep, Burak, Elif, Çağla, Oğuz, Işıl, "
              "Gökhan, Şule, Barış, Özlem, Hakan, Ahmet, Emine"),
        _pool("Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Yıldırım, Öztürk, Aydın, Özdemir, "
              "Arslan, Doğan, Kılıç, Aslan, Çetin, Kara, Koç, Kurt, Özkan, Şimşek"),
        skew=0.8,
    ),
    "nordic": Culture(
        _pool("Lars, Ingrid, Anna, Erik, Björn, Søren, Astrid, Sigrid, Mikkel, Freja, Eero, "
              "Aino, Dagný, Gunnar, Kirsten, Håkon, Linnéa, Jens, Maja, Mette"),
        _pool("Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsen, Hansen, "
              "Jensen, Nielsen, Pedersen, Håkansson, Ødegaard, Søndergaard, Lindqvist, "
              "Virtanen, Korhonen, Mäkinen, Ólafsdóttir, Jónsson, Bergström, Lundgren, "
              "Johansen, Christensen, Sørensen, Nieminen"),
    ),
    "arab": Culture(
        _pool("Mohammed, Fatima, Ahmed, Yusuf, Omar, Aisha, Leïla, Mariam, Khaled, Nour, "
              "Hassan, Layla, Karim, Samir, Rania, Youssef, Salma, Ali"),
        _pool("Haddad, Khoury, Mansour, El-Amin, Saleh, Nasser, Hamdan, Farouk, Aziz, Rahman, "
              "Ibrahim, Al-Sayed, Kassem, Darwish, Benali, El Idrissi, Tazi, Al-Farsi, "
              "Abdallah, Hussein, Mahmoud"),
    ),
    "cn": Culture(
        _pool("Wei, Fang, Jing, Lei, Min, Xiaoming, Na, Yan, Hui, Jun, Mei, Hao, Ying, "
              "Zhiwei, Xin, Jie"),
        _pool("Wang, Li, Zhang, Liu, Chen, Yang, Huang, Zhao, Wu, Zhou, Xu, Sun, Ma, Zhu, Hu, "
              "Guo, Lin, Tan, Lim, Lee, Ng, Wong, Chan, Cheung"),
        skew=0.9,
        middle_share=0.02,
    ),
    "jp": Culture(
        _pool("Hiroshi, Yuki, Takeshi, Aiko, Kenji, Haruka, Satoshi, Yumi, Daisuke, Emi, "
              "Kazuo, Naoko, Shōta, Rin, Akira, Keiko"),
        _pool("Satō, Suzuki, Takahashi, Tanaka, Watanabe, Itō, Yamamoto, Nakamura, Kobayashi, "
              "Katō, Yoshida, Yamada, Sasaki, Yamaguchi, Matsumoto, Inoue, Kimura, Hayashi, "
              "Shimizu, Saito"),
        middle_share=0.0,
    ),
    "kr": Culture(
        _pool("Min-jun, Seo-yeon, Ji-hoon, Ha-eun, Do-yun, Soo-ah, Jae-won, Ji-woo, Hyun-woo, "
              "Eun-ji"),
        _pool("Kim, Lee, Park, Choi, Jung, Kang, Cho, Yoon, Jang, Lim, Han, Shin"),
        skew=1.3,
        middle_share=0.0,
    ),
    "central-europe": Culture(
        _pool("Václav, Zsófia, Jiří, Tereza, László, Katalin, Andrei, Ioana, Nikos, Eleni, "
              "Dragan, Milica, Petra, Ondřej, Dimitrios, Ivana, Marek, Ágnes, Radu, Maria"),
        _pool("Novák, Dvořák, Svoboda, Černý, Procházka, Nagy, Kovács, Tóth, Szabó, Horváth, "
              "Popescu, Ionescu, Papadopoulos, Georgiou, Jovanović, Petrović, Đorđević, Horvat, "
              "Kovačević, Ivanov, Novotná, Dimitriou, Marković, Popa, Varga"),
    ),
}

# Share of the register (percent), naming culture and the country's languages (ISO 639-1,
# the usual one first). Every other ISO country shares TAIL_PERCENT equally.
BIG_COUNTRIES = [
    ("US", 10.0, "en", "en es"), ("GB", 8.0, "en", "en"), ("DE", 7.5, "de", "de"),
    ("IN", 6.0, "in", "en hi ta bn mr"), ("FR", 5.5, "fr", "fr"), ("NL", 4.5, "nl", "nl"),
    ("ES", 4.0, "es", "es ca"), ("IT", 4.0, "it", "it"), ("BR", 4.0, "pt", "pt"),
    ("NG", 3.5, "west-africa", "en yo ig ha"), ("KE", 3.0, "east-africa", "en sw"),
    ("PL", 3.0, "pl", "pl"), ("CA", 2.8, "en", "en fr"), ("AU", 2.5, "en", "en"),
    ("BE", 2.0, "nl", "nl fr de"), ("IE", 1.5, "en", "en ga"), ("MX", 1.5, "es", "es"),
    ("CH", 1.5, "de", "de fr it"), ("AT", 1.2, "de", "de"), ("SE", 1.2, "nordic", "sv"),
    ("PT", 1.2, "pt", "pt"), ("TR", 1.2, "tr", "tr"), ("ZA", 1.2, "en", "en af zu"),
    ("GH", 1.0, "west-africa", "en"), ("AR", 1.0, "es", "es"), ("CN", 1.0, "cn", "zh"),
    ("JP", 1.0, "jp", "ja"), ("SG", 1.0, "cn", "en zh ms"), ("AE", 1.0, "arab", "ar en"),
    ("EG", 0.8, "arab", "ar"), ("VN", 0.8, "vn", "vi"), ("CO", 0.8, "es", "es"),
    ("DK", 0.7, "nordic", "da"), ("NO", 0.7, "nordic", "no"), ("FI", 0.6, "nordic", "fi sv"),
    ("CZ", 0.6, "central-europe", "cs"), ("RO", 0.6, "central-europe", "ro"),
    ("GR", 0.6, "central-europe", "el"), ("HU", 0.5, "central-europe", "hu"),
    ("UG", 0.5, "east-africa", "en sw"), ("TZ", 0.5, "east-africa", "sw en"),
    ("KR", 0.5, "kr", "ko"), ("NZ", 0.5, "en", "en"), ("CL", 0.5, "es", "es"),
    ("PE", 0.4, "es", "es"), ("MA", 0.4, "arab", "ar fr"), ("SA", 0.4, "arab", "ar"),
    ("HK", 0.3, "cn", "zh en"), ("RS", 0.3, "central-europe", "sr"),
    ("HR", 0.3, "central-europe", "hr"), ("LB", 0.3, "arab", "ar fr"),
]
TAIL_PERCENT = 5.0
TAIL_LANGUAGES = "en fr es ar pt ru"
# Share of mediators who also list English (when it is not their first language), and who
# list one more language.
ENGLISH_SHARE = 0.6
EXTRA_LANGUAGE_SHARE = 0.3
EXTRA_LANGUAGES = ["fr", "es", "de", "it", "pt", "nl", "ar", "zh", "ru", "pl"]
# How many granted specialisations (0, 1, 2) and which, by weight (migration 0007's codes).
SPECIALISATION_COUNTS = [0.7, 0.25, 0.05]
SPECIALISATION_WEIGHTS = {
    "intercultural": 50, "online_dispute_resolution": 35, "investor_state": 15,
}
GRANTED_ON = date(2020, 1, 15)
GRANTED_AT = datetime(2020, 1, 15, 9, tzinfo=UTC)
# fmt: on


@dataclass(frozen=True)
class Person:
    """A mediator's profile: what the search looks at."""

    name: str
    country: str
    languages: list[str]
    specialisations: list[str]


class _Weighted:
    """Seeded weighted draws with precomputed cumulative weights (random.choices is slow)."""

    def __init__(self, items: list[Any], weights: list[float]) -> None:
        self.items, self.cumulative = items, list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> Any:
        return rng.choices(self.items, cum_weights=self.cumulative)[0]


def _zipf(items: list[str], skew: float) -> _Weighted:
    return _Weighted(items, [1 / (rank + 1) ** skew for rank in range(len(items))])


class People:
    """Draw mediator profiles (see the module docstring) from a seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        listed = {code for code, *_ in BIG_COUNTRIES}
        tail = sorted(set(COUNTRIES) - listed)
        plans = [
            (code, culture, languages.split()) for code, _, culture, languages in BIG_COUNTRIES
        ]
        plans += [(code, None, TAIL_LANGUAGES.split()) for code in tail]
        weights = [share for _, share, *_ in BIG_COUNTRIES]
        weights += [TAIL_PERCENT / len(tail)] * len(tail)
        self.countries = _Weighted(plans, weights)
        self.cultures = list(CULTURES.values())
        self.given = {id(c): _zipf(c.given, c.skew) for c in self.cultures}
        self.family = {id(c): _zipf(c.family, c.skew) for c in self.cultures}
        self.extra_languages = _zipf(EXTRA_LANGUAGES, 0.8)
        self.specialisations = _Weighted(
            list(SPECIALISATION_WEIGHTS), list(SPECIALISATION_WEIGHTS.values())
        )

    def draw(self) -> Person:
        """Return the next profile."""
        country, culture_name, spoken = self.countries.draw(self.rng)
        culture = CULTURES[culture_name] if culture_name else self.rng.choice(self.cultures)
        return Person(
            self.name(culture), country, self.languages(spoken), self.specialisation_codes()
        )

    def name(self, culture: Culture) -> str:
        rng, given, family = self.rng, self.given[id(culture)], self.family[id(culture)]
        first = [given.draw(rng)]
        last = [family.draw(rng)]
        if rng.random() < culture.second_family_share:
            last.append(family.draw(rng))
        if culture.family_first:
            middle = [rng.choice(culture.middle)] if rng.random() < culture.middle_share else []
            return " ".join(last + middle + first)
        if rng.random() < culture.middle_share:
            first.append(given.draw(rng))
        return " ".join(dict.fromkeys(first + last))

    def languages(self, spoken: list[str]) -> list[str]:
        rng = self.rng
        first = spoken[0] if len(spoken) == 1 or rng.random() < 0.75 else rng.choice(spoken[1:])
        languages = [first]
        if first != "en" and rng.random() < ENGLISH_SHARE:
            languages.append("en")
        if rng.random() < EXTRA_LANGUAGE_SHARE:
            local = [code for code in spoken if code not in languages]
            extra = (
                rng.choice(local)
                if local and rng.random() < 0.5
                else self.extra_languages.draw(rng)
            )
            if extra not in languages:
                languages.append(extra)
        return languages

    def specialisation_codes(self) -> list[str]:
        rng = self.rng
        count = rng.choices(range(3), SPECIALISATION_COUNTS)[0]
        return list(dict.fromkeys(self.specialisations.draw(rng) for _ in range(count)))


@dataclass
class ProfileBatch(Batch):
    """``lifecycle.Batch`` plus each mediator's languages and specialisations."""

    languages: list[dict[str, Any]] = field(default_factory=list)
    specialisations: list[dict[str, Any]] = field(default_factory=list)

    def tables(self):  # type: ignore[no-untyped-def]
        yield from super().tables()
        yield MediatorLanguage.__table__, self.languages
        yield SpecialisationGrant.__table__, self.specialisations


class ProfileGenerator(Generator):
    """``lifecycle.Generator`` with realistic profiles (its facts and statuses unchanged)."""

    def __init__(self, grace: int) -> None:
        super().__init__(grace)
        # A stream of its own, so the statuses are drawn as in lifecycle.py for the same N.
        self.people = People(random.Random(SEED + 1))  # noqa: S311 -- test data
        self.profiles: dict[int, Person] = {}

    def batch(self, mediator_ids: range) -> ProfileBatch:
        facts = super().batch(mediator_ids)
        batch = ProfileBatch(facts.mediators, facts.certifications, facts.invoices)
        for mediator_id in mediator_ids:
            person = self.profiles.pop(mediator_id)
            batch.languages += [{"mediator_id": mediator_id, "code": c} for c in person.languages]
            batch.specialisations += [
                {
                    "mediator_id": mediator_id,
                    "code": c,
                    "granted_on": GRANTED_ON,
                    "basis": "Benchmark data.",
                    "granted_at": GRANTED_AT,
                }
                for c in person.specialisations
            ]
        return batch

    def _mediator(self, mediator_id: int) -> dict[str, Any]:
        row = super()._mediator(mediator_id)
        person = self.profiles[mediator_id] = self.people.draw()
        row.update(name=person.name, search_name=_search_form(person.name), country=person.country)
        return row
